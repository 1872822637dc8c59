import Foundation

/// The key step of decoding: a record's key, when it has one, must name the body's flow execution,
/// because the key decides the partition and so the order in which an execution's updates apply.
enum RecordKeyCheck {
    /// Keys longer than this are cut in messages, so a huge key cannot flood a log line.
    private static let maximumQuotedLength = 100

    /// Returns a 400 `bad_request` when a non-empty key is not UTF-8, not a canonical UUID, or another
    /// execution's id, and `nil` otherwise. Ids compare as UUIDs, so case does not matter.
    static func check(key: [UInt8]?, against flowExecutionID: UUID) -> ContractError? {
        guard let key, !key.isEmpty else { return nil }

        // The common case, a matching key, allocates nothing.
        let keyID = UUIDText.parseCanonical(utf8: key)
        if keyID == flowExecutionID {
            return nil
        }

        let bodyID = UUIDText.canonicalLowercase(flowExecutionID)
        let keyText = String(decoding: key, as: UTF8.self)
        let details: JSONValue = .object([
            JSONMember("key", .string(keyText)),
            JSONMember("flow_execution_id", .string(bodyID)),
        ])

        let validUTF8 = key.withUnsafeBufferPointer { UTF8Validation.firstFailure(in: $0) == nil }
        guard validUTF8 else {
            return .badRequest(
                "Record key is not valid UTF-8: expected the body's flow_execution_id '\(bodyID)' as the key",
                details: details
            )
        }

        guard keyID != nil else {
            return .badRequest(
                "Record key '\(quoted(keyText))' is not a flow execution id in canonical UUID form:"
                    + " expected the body's flow_execution_id '\(bodyID)'",
                details: details
            )
        }

        return .badRequest(
            "Record key '\(quoted(keyText))' names another flow execution than the body's"
                + " flow_execution_id '\(bodyID)'",
            details: details
        )
    }

    private static func quoted(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > maximumQuotedLength else { return text }
        return String(String.UnicodeScalarView(scalars.prefix(maximumQuotedLength))) + "…"
    }
}
