import Foundation

/// Turns a Kafka record's key and value into a `StatusUpdateRecord`, or the error the platform's
/// endpoint would respond with.
///
/// The checks run in the endpoint's order and the first failing step decides:
/// 1. the value: present, not empty, UTF-8, JSON, and a JSON object (422 `validation_error`);
/// 2. the fields: every bad field is listed in `details` (422 `validation_error`);
/// 3. the key: when present, it names the body's flow execution (400 `bad_request`).
///
/// The execution and task name checks need the store and follow in `ExecutionRules`.
public enum RecordDecoder {
    /// The longest `task_name`, in Unicode scalars.
    public static let maximumTaskNameLength = 255
    /// The longest `status`, in Unicode scalars.
    public static let maximumStatusLength = 50
    /// The longest `event_id`, in Unicode scalars.
    public static let maximumEventIDLength = 255

    /// Decodes and validates one record. A `nil` or empty key is accepted.
    public static func decode(key: [UInt8]?, value: [UInt8]?) -> Result<StatusUpdateRecord, ContractError> {
        decodeWithDocument(key: key, value: value).result
    }

    /// Decodes and validates one record, and also returns the parsed value whenever it was a JSON
    /// object, even if a later check failed, so that a dead-letter record can show it.
    public static func decodeWithDocument(
        key: [UInt8]?,
        value: [UInt8]?
    ) -> (result: Result<StatusUpdateRecord, ContractError>, document: JSONValue?) {
        let document: JSONValue
        let members: [JSONMember]
        switch parseValue(value) {
        case .failure(let error):
            return (.failure(error), nil)
        case .success(let parsed):
            guard case .object(let objectMembers) = parsed else {
                return (.failure(notAnObject(parsed)), nil)
            }
            document = parsed
            members = objectMembers
        }

        var validator = RecordFieldValidator()
        guard let record = validator.validate(members) else {
            return (.failure(.validationFailed(validator.issues)), document)
        }

        if let error = RecordKeyCheck.check(key: key, against: record.flowExecutionID) {
            return (.failure(error), document)
        }
        return (.success(record), document)
    }

    // MARK: - The value step

    private static func parseValue(_ value: [UInt8]?) -> Result<JSONValue, ContractError> {
        guard let value else {
            return .failure(invalidValue(
                "Record value is missing (a tombstone): expected a JSON object",
                "Field required",
                "missing"
            ))
        }
        guard !value.isEmpty else {
            return .failure(invalidValue(
                "Record value is empty: expected a JSON object",
                "Field required",
                "missing"
            ))
        }

        do {
            return .success(try JSONParser.parse(value))
        } catch {
            let message: String
            if error.kind == .invalidUTF8 {
                message = "Record value is not valid UTF-8 at byte \(error.offset): JSON must be encoded as UTF-8"
            } else {
                message = "Record value is not valid JSON: \(error.message)"
            }
            return .failure(invalidValue(message, "JSON decode error: \(error.message)", "json_invalid"))
        }
    }

    private static func notAnObject(_ value: JSONValue) -> ContractError {
        let article = value.typeName == "array" || value.typeName == "object" ? "a JSON " : "JSON "
        return invalidValue(
            "Record value is \(article)\(value.typeName): expected a JSON object",
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type"
        )
    }

    private static func invalidValue(_ message: String, _ issueMessage: String, _ type: String) -> ContractError {
        .invalidValue(
            message: message,
            issue: ValidationIssue(location: [.key("body")], message: issueMessage, type: type)
        )
    }
}
