// The Kafka layer: consumer, producer, admin and mock cluster over librdkafka.
