import Kafka

/// A 64-bit FNV-1a hash of a record's timestamp, key and value: two deliveries of one record share it,
/// so the store can tell a redelivery from a different record at reused coordinates.
enum RecordFingerprint {
    static func make(_ message: KafkaMessage) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        func mix(_ value: Int64) {
            withUnsafeBytes(of: value.littleEndian) { for byte in $0 { mix(byte) } }
        }
        mix(Int64(message.timestamp.map { ($0.timeIntervalSince1970 * 1000).rounded() } ?? -1))
        mix(Int64(message.key?.count ?? -1))
        message.key?.withUnsafeBufferPointer { for byte in $0 { mix(byte) } }
        mix(Int64(message.value?.count ?? -1))
        message.value?.withUnsafeBufferPointer { for byte in $0 { mix(byte) } }
        return Int64(bitPattern: hash)
    }
}
