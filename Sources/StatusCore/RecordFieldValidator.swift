import Foundation

/// The field step of decoding: checks every member the contract defines and collects one
/// `ValidationIssue` per bad field, as the endpoint's pydantic model would, instead of stopping at
/// the first.
struct RecordFieldValidator {
    private(set) var issues: [ValidationIssue] = []

    /// Returns the record when every field is valid; otherwise `nil`, with `issues` listing each bad field.
    mutating func validate(_ members: [JSONMember]) -> StatusUpdateRecord? {
        let fields = RecordMembers(members)

        let flowExecutionID = uuid(fields.flowExecutionID, at: ["flow_execution_id"], required: true)

        let form: RecordForm
        var updates: [TaskStatusUpdate]?
        if let statuses = fields.statuses {
            form = .batch
            updates = batchUpdates(statuses)
        } else {
            form = .single
            updates = update(taskName: fields.taskName, status: fields.status, at: [])
                .map { [$0] }
        }

        let organizationID = uuid(fields.organizationID, at: ["organization_id"], required: false)
        let eventID = text(
            fields.eventID,
            at: [.key("body"), .key("event_id")],
            presence: .optional,
            limits: 1...RecordDecoder.maximumEventIDLength
        )
        let emittedAt = dateTime(fields.emittedAt, at: [.key("body"), .key("emitted_at")])

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
        let location: [ValidationIssue.PathComponent] = [.key("body"), .key("statuses")]
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
            let itemLocation = location + [.index(index)]
            guard case .object(let members) = item else {
                report(itemLocation, "Input should be a valid dictionary or object to extract fields from", "model_attributes_type")
                continue
            }
            let fields = RecordMembers(members)
            if let update = update(taskName: fields.taskName, status: fields.status, at: [.key("statuses"), .index(index)]) {
                updates.append(update)
            }
        }
        return updates.count == items.count ? updates : nil
    }

    /// Checks `task_name` (required, 1 to 255 characters) and `status` (required, string of at most
    /// 50 characters or null) at `body` followed by `prefix`.
    private mutating func update(
        taskName: JSONValue?,
        status: JSONValue?,
        at prefix: [ValidationIssue.PathComponent]
    ) -> TaskStatusUpdate? {
        let base: [ValidationIssue.PathComponent] = [.key("body")] + prefix
        let name = text(
            taskName,
            at: base + [.key("task_name")],
            presence: .required,
            limits: 1...RecordDecoder.maximumTaskNameLength
        )
        let statusText = text(
            status,
            at: base + [.key("status")],
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
        at location: [ValidationIssue.PathComponent],
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
        let utf8Count = text.utf8.count
        // A scalar takes one to four bytes, so the byte count bounds the scalar count both ways.
        if utf8Count > limits.upperBound || utf8Count < limits.lowerBound * 4 {
            let length = text.unicodeScalars.count
            if length < limits.lowerBound {
                let unit = limits.lowerBound == 1 ? "character" : "characters"
                return ("String should have at least \(limits.lowerBound) \(unit)", "string_too_short")
            }
            if length > limits.upperBound {
                return ("String should have at most \(limits.upperBound) characters", "string_too_long")
            }
        }
        if text.utf8.contains(0) {
            return ("String should not contain the NUL character (U+0000)", "string_contains_nul")
        }
        return nil
    }

    /// Checks a UUID member at `body.<name>`. Returns `.some(nil)` for an absent or null optional member.
    private mutating func uuid(_ value: JSONValue?, at name: [String], required: Bool) -> UUID?? {
        let location = [ValidationIssue.PathComponent.key("body")] + name.map { .key($0) }
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
    private mutating func dateTime(_ value: JSONValue?, at location: [ValidationIssue.PathComponent]) -> Date?? {
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

    private mutating func report(_ location: [ValidationIssue.PathComponent], _ message: String, _ type: String) {
        issues.append(ValidationIssue(location: location, message: message, type: type))
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
            let name = member.key.utf8
            switch name.count {
            case 6 where name.elementsEqual("status".utf8):
                status = member.value
            case 8 where name.elementsEqual("event_id".utf8):
                eventID = member.value
            case 8 where name.elementsEqual("statuses".utf8):
                statuses = member.value
            case 9 where name.elementsEqual("task_name".utf8):
                taskName = member.value
            case 10 where name.elementsEqual("emitted_at".utf8):
                emittedAt = member.value
            case 15 where name.elementsEqual("organization_id".utf8):
                organizationID = member.value
            case 17 where name.elementsEqual("flow_execution_id".utf8):
                flowExecutionID = member.value
            default:
                continue
            }
        }
    }
}
