import Foundation

/// The field step of decoding: checks every member the contract defines and collects one
/// `ValidationIssue` per bad field, as the endpoint's pydantic model would, instead of stopping at
/// the first.
struct RecordFieldValidator {
    private(set) var issues: [ValidationIssue] = []

    /// Returns the record when every field is valid; otherwise `nil`, with `issues` listing each bad field.
    mutating func validate(_ members: [JSONMember]) -> StatusUpdateRecord? {
        let fields = RecordMembers(members)

        let flowExecutionID = uuid(fields.flowExecutionID, at: FieldLocation("flow_execution_id"), required: true)

        let form: RecordForm
        var updates: [TaskStatusUpdate]?
        if let statuses = fields.statuses {
            form = .batch
            updates = batchUpdates(statuses)
        } else {
            form = .single
            updates = update(taskName: fields.taskName, status: fields.status, item: nil).map { [$0] }
        }

        let organizationID = uuid(fields.organizationID, at: FieldLocation("organization_id"), required: false)
        let eventID = text(
            fields.eventID,
            at: FieldLocation("event_id"),
            presence: .optional,
            limits: 1...RecordDecoder.maximumEventIDLength
        )
        let emittedAt = dateTime(fields.emittedAt, at: FieldLocation("emitted_at"))

        guard issues.isEmpty, let flowExecutionID = flowExecutionID ?? nil, let updates else { return nil }
        return StatusUpdateRecord(
            flowExecutionID: flowExecutionID,
            organizationID: organizationID ?? nil,
            eventID: eventID.text,
            emittedAt: emittedAt ?? nil,
            form: form,
            updates: updates
        )
    }

    // MARK: - Updates

    /// Checks the batch form's `statuses`: an array of 1 to 100 objects, each with `task_name` and `status`.
    private mutating func batchUpdates(_ statuses: JSONValue) -> [TaskStatusUpdate]? {
        let location = FieldLocation("statuses")
        guard case .array(let items) = statuses else {
            report(location, "Input should be a valid list", "list_type")
            return nil
        }

        // Items are not checked when the count is out of range, so a huge array yields one issue, not
        // one per item.
        if items.isEmpty {
            report(location, "List should have at least 1 item after validation, not 0", "too_short")
            return nil
        }
        if items.count > ExecutionBatch.maximumUpdates {
            report(
                location,
                "List should have at most \(ExecutionBatch.maximumUpdates) items after validation, not \(items.count)",
                "too_long"
            )
            return nil
        }

        var updates: [TaskStatusUpdate] = []
        updates.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .object(let members) = item else {
                report(
                    FieldLocation(item: index, nil),
                    "Input should be a valid dictionary or object to extract fields from",
                    "model_attributes_type"
                )
                continue
            }
            let fields = RecordMembers(members)
            if let update = update(taskName: fields.taskName, status: fields.status, item: index) {
                updates.append(update)
            }
        }
        return updates.count == items.count ? updates : nil
    }

    /// Checks `task_name` (required, 1 to 255 characters) and `status` (required, string of at most
    /// 50 characters or null) of the body, or of batch item `item`.
    private mutating func update(taskName: JSONValue?, status: JSONValue?, item: Int?) -> TaskStatusUpdate? {
        let name = text(
            taskName,
            at: FieldLocation(item: item, "task_name"),
            presence: .required,
            limits: 1...RecordDecoder.maximumTaskNameLength
        )
        let statusText = text(
            status,
            at: FieldLocation(item: item, "status"),
            presence: .requiredNullable,
            limits: 0...RecordDecoder.maximumStatusLength
        )
        guard name.isValid, statusText.isValid, let taskName = name.text else { return nil }
        return TaskStatusUpdate(taskName: taskName, status: statusText.text)
    }

    // MARK: - Field types

    private enum Presence {
        /// Must be present and a string.
        case required
        /// Must be present; a string or null.
        case requiredNullable
        /// May be absent or null.
        case optional
    }

    private struct CheckedText {
        var isValid: Bool
        var text: String?
    }

    /// Checks a string member: presence, type, length in Unicode scalars, and no U+0000.
    private mutating func text(
        _ value: JSONValue?,
        at location: FieldLocation,
        presence: Presence,
        limits: ClosedRange<Int>
    ) -> CheckedText {
        switch value {
        case nil:
            if presence == .optional {
                return CheckedText(isValid: true, text: nil)
            }
            report(location, "Field required", "missing")
            return CheckedText(isValid: false, text: nil)
        case .null? where presence != .required:
            return CheckedText(isValid: true, text: nil)
        case .string(let text)?:
            guard let issue = Self.lengthOrContentIssue(text, limits: limits) else {
                return CheckedText(isValid: true, text: text)
            }
            report(location, issue.message, issue.type)
            return CheckedText(isValid: false, text: nil)
        default:
            report(location, "Input should be a valid string", "string_type")
            return CheckedText(isValid: false, text: nil)
        }
    }

    private static func lengthOrContentIssue(_ text: String, limits: ClosedRange<Int>) -> (message: String, type: String)? {
        var text = text
        return text.withUTF8 { bytes in
            // A scalar takes one to four bytes, so the byte count bounds the scalar count both ways,
            // and counting lead bytes counts scalars.
            if bytes.count > limits.upperBound || bytes.count < limits.lowerBound * 4 {
                let length = bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
                if length < limits.lowerBound {
                    let unit = limits.lowerBound == 1 ? "character" : "characters"
                    return ("String should have at least \(limits.lowerBound) \(unit)", "string_too_short")
                }
                if length > limits.upperBound {
                    return ("String should have at most \(limits.upperBound) characters", "string_too_long")
                }
            }
            if let start = bytes.baseAddress, memchr(start, 0, bytes.count) != nil {
                return ("String should not contain the NUL character (U+0000)", "string_contains_nul")
            }
            return nil
        }
    }

    /// Checks a UUID member of the body. Returns `.some(nil)` for an absent or null optional member.
    private mutating func uuid(_ value: JSONValue?, at location: FieldLocation, required: Bool) -> UUID?? {
        switch value {
        case nil:
            if required {
                report(location, "Field required", "missing")
                return nil
            }
            return .some(nil)
        case .null?:
            if required {
                report(location, "Input should be a valid string", "string_type")
                return nil
            }
            return .some(nil)
        case .string(let text)?:
            if let uuid = UUIDText.parseCanonical(text) {
                return .some(uuid)
            }
            report(
                location,
                "Input should be a valid UUID in the canonical 8-4-4-4-12 hexadecimal form, such as"
                    + " 0f8fad5b-d9cb-469f-a165-70867728950e",
                "uuid_parsing"
            )
            return nil
        default:
            report(location, "Input should be a valid string", "string_type")
            return nil
        }
    }

    /// Checks `emitted_at`: absent, null, or an RFC 3339 date-time with an offset.
    private mutating func dateTime(_ value: JSONValue?, at location: FieldLocation) -> Date?? {
        switch value {
        case nil, .null?:
            return .some(nil)
        case .string(let text)?:
            if let date = RFC3339.parse(text) {
                return .some(date)
            }
            report(
                location,
                "Input should be a valid datetime or date, expected an RFC 3339 date-time with an offset"
                    + " such as 2026-01-02T03:04:05Z",
                "datetime_from_date_parsing"
            )
            return nil
        default:
            report(location, "Input should be a valid datetime", "datetime_type")
            return nil
        }
    }

    private mutating func report(_ location: FieldLocation, _ message: String, _ type: String) {
        issues.append(ValidationIssue(location: location.path, message: message, type: type))
    }
}

/// The location of a checked field: a member of the body, or of item `item` of `statuses`.
///
/// The `loc` array is built only when an issue is reported, so valid records allocate none.
private struct FieldLocation {
    var item: Int?
    var name: String?

    init(_ name: String) {
        self.item = nil
        self.name = name
    }

    init(item: Int?, _ name: String?) {
        self.item = item
        self.name = name
    }

    var path: [ValidationIssue.PathComponent] {
        var path: [ValidationIssue.PathComponent] = [.key("body")]
        if let item {
            path += [.key("statuses"), .index(item)]
        }
        if let name {
            path.append(.key(name))
        }
        return path
    }
}

/// The members of a record or a batch item that the contract defines, found by exact name.
///
/// A repeated name keeps its last value, as Python's `json` module does for the endpoint.
/// Names compare byte for byte, never by Swift's canonical equivalence.
struct RecordMembers {
    var flowExecutionID: JSONValue?
    var taskName: JSONValue?
    var status: JSONValue?
    var statuses: JSONValue?
    var organizationID: JSONValue?
    var eventID: JSONValue?
    var emittedAt: JSONValue?

    init(_ members: [JSONMember]) {
        for member in members {
            var name = member.key
            name.withUTF8 { bytes in
                switch bytes.count {
                case 6 where Self.equal(bytes, "status"):
                    status = member.value
                case 8 where Self.equal(bytes, "event_id"):
                    eventID = member.value
                case 8 where Self.equal(bytes, "statuses"):
                    statuses = member.value
                case 9 where Self.equal(bytes, "task_name"):
                    taskName = member.value
                case 10 where Self.equal(bytes, "emitted_at"):
                    emittedAt = member.value
                case 15 where Self.equal(bytes, "organization_id"):
                    organizationID = member.value
                case 17 where Self.equal(bytes, "flow_execution_id"):
                    flowExecutionID = member.value
                default:
                    break
                }
            }
        }
    }

    /// Returns whether `bytes` are exactly `name`'s UTF-8, which has the same length.
    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        memcmp(bytes.baseAddress!, name.utf8Start, bytes.count) == 0
    }
}
