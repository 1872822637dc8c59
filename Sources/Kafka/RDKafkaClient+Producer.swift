import CRdKafka

// MARK: - Producer calls

extension RDKafkaClient {
    /// Enqueues one record with `rd_kafka_produceva`, or throws at once when librdkafka rejects it.
    ///
    /// librdkafka copies the key, value and headers (`RD_KAFKA_MSG_F_COPY`), so the record's
    /// memory is only borrowed for this call.
    func produce(_ record: ProducerRecord, context: RDKafkaDeliveryContext) throws {
        let arena = RDKafkaArena()
        var arguments: [rd_kafka_vu_t] = []

        var topic = rd_kafka_vu_t()
        topic.vtype = RD_KAFKA_VTYPE_TOPIC
        topic.u.cstr = arena.copy(record.topic)
        arguments.append(topic)

        var partition = rd_kafka_vu_t()
        partition.vtype = RD_KAFKA_VTYPE_PARTITION
        partition.u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA
        arguments.append(partition)

        var flags = rd_kafka_vu_t()
        flags.vtype = RD_KAFKA_VTYPE_MSGFLAGS
        flags.u.i = RD_KAFKA_MSG_F_COPY
        arguments.append(flags)

        if let key = record.key {
            var argument = rd_kafka_vu_t()
            argument.vtype = RD_KAFKA_VTYPE_KEY
            argument.u.mem.ptr = arena.copy(key)
            argument.u.mem.size = key.count
            arguments.append(argument)
        }

        // A null pointer is a tombstone; an empty value needs a non-null pointer of length 0.
        var value = rd_kafka_vu_t()
        value.vtype = RD_KAFKA_VTYPE_VALUE
        value.u.mem.ptr = record.value.map { arena.copy($0) }
        value.u.mem.size = record.value?.count ?? 0
        arguments.append(value)

        // Headers go in as one list this layer builds and, on failure, destroys itself. Passing them
        // one by one (RD_KAFKA_VTYPE_HEADER) makes librdkafka 2.0.2 free them twice when the call
        // fails, for example once a topic is in an error state. valgrind shows the invalid free.
        var headers: OpaquePointer?
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                // A size is always given: rd_kafka_header_add reads -1 as "NUL-terminated".
                let code: rd_kafka_resp_err_t
                if let bytes = header.value {
                    code = bytes.withUnsafeBytes { buffer in
                        rd_kafka_header_add(headers, header.key, -1, buffer.baseAddress ?? UnsafeRawPointer(arena.copy([])), buffer.count)
                    }
                } else {
                    code = rd_kafka_header_add(headers, header.key, -1, nil, 0)
                }
                if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                    rd_kafka_headers_destroy(headers)
                    throw KafkaError(responseError: code, reason: "Failed to add header '\(header.key)' to a record")
                }
            }
            var argument = rd_kafka_vu_t()
            argument.vtype = RD_KAFKA_VTYPE_HEADERS
            argument.u.headers = headers
            arguments.append(argument)
        }

        let opaque = Unmanaged.passRetained(context)
        var contextArgument = rd_kafka_vu_t()
        contextArgument.vtype = RD_KAFKA_VTYPE_OPAQUE
        contextArgument.u.ptr = opaque.toOpaque()
        arguments.append(contextArgument)

        // The arena must outlive the call, because the arguments point into it.
        let failure = withExtendedLifetime(arena) {
            rd_kafka_produceva(handle, arguments, arguments.count)
        }
        if let error = failure {
            // librdkafka did not take the record, so its delivery callback will never run and the
            // header list is still this layer's to free.
            opaque.release()
            if let headers { rd_kafka_headers_destroy(headers) }
            throw KafkaError(consuming: error).describing(record)
        }
    }

    /// Serves delivery reports and errors for up to `timeoutMilliseconds`.
    func poll(timeoutMilliseconds: Int) {
        rd_kafka_poll(handle, Int32(clamping: timeoutMilliseconds))
    }

    /// Waits until every enqueued record was delivered or failed, serving their callbacks.
    func flush(timeoutMilliseconds: Int) throws {
        let code = rd_kafka_flush(handle, Int32(clamping: timeoutMilliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let waiting = rd_kafka_outq_len(handle)
            throw KafkaError(
                responseError: code,
                reason: "Flush timed out after \(timeoutMilliseconds) ms with \(waiting) records or requests "
                    + "still waiting; the brokers may be unreachable. Flush again or close the producer."
            )
        }
    }

    /// Fails every record that is still queued or in flight, serving their callbacks with
    /// `_PURGE_QUEUE` or `_PURGE_INFLIGHT`, so each delivery context is released.
    func purgeAndServe(timeoutMilliseconds: Int) {
        let flags = Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
        rd_kafka_purge(handle, flags)
        if rd_kafka_flush(handle, Int32(clamping: timeoutMilliseconds)) != RD_KAFKA_RESP_ERR_NO_ERROR {
            KafkaLog.emit(
                .warning, "CLOSE",
                "\(rd_kafka_outq_len(handle)) records or requests were still waiting when the producer closed; "
                    + "their delivery callbacks will not run."
            )
        }
    }
}

extension KafkaError {
    /// Adds the record's destination and size to a rejection, so the caller can act on it.
    fileprivate func describing(_ record: ProducerRecord) -> KafkaError {
        var error = self
        let destination = record.partition.map { "\(record.topic)[\($0)]" } ?? record.topic
        let size = (record.key?.count ?? 0) + (record.value?.count ?? 0)
        error.reason = "Failed to enqueue a record of \(size) key and value bytes for \(destination): \(reason)"
        return error
    }
}

/// Copies of Swift values in C memory, freed together when the arena is released.
final class RDKafkaArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for allocation in allocations {
            allocation.deallocate()
        }
    }

    /// Copies the bytes; an empty array still gets a valid, non-null pointer.
    func copy(_ bytes: [UInt8]) -> UnsafeMutableRawPointer {
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress {
                pointer.copyMemory(from: base, byteCount: source.count)
            }
        }
        allocations.append(pointer)
        return pointer
    }

    /// Copies the string as NUL-terminated UTF-8.
    func copy(_ string: String) -> UnsafePointer<CChar> {
        let bytes = Array(string.utf8) + [0]
        return UnsafePointer(copy(bytes).assumingMemoryBound(to: CChar.self))
    }
}
