/// One bad field of a record, in the shape of a pydantic v2 validation error: where (`loc`), what is
/// wrong (`msg`) and the error type (`type`), such as
/// `{"loc": ["body", "statuses", 3, "task_name"], "msg": "Field required", "type": "missing"}`.
public struct ValidationIssue: Sendable, Hashable {
    /// One step of a location: a member name or an array index.
    public enum PathComponent: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// The path from the request body to the bad field, starting with `"body"`.
    public var location: [PathComponent]
    /// The problem in pydantic's wording, such as "String should have at most 255 characters".
    public var message: String
    /// The pydantic error type, such as `missing`, `string_type` or `string_too_long`.
    public var type: String

    public init(location: [PathComponent], message: String, type: String) {
        self.location = location
        self.message = message
        self.type = type
    }

    /// The issue as the endpoint lists it in `details`: `{"loc": [...], "msg": ..., "type": ...}`.
    public var json: JSONValue {
        let path: [JSONValue] = location.map { component in
            switch component {
            case .key(let name): return .string(name)
            case .index(let index): return .integer(index)
            }
        }
        return .object([
            JSONMember("loc", .array(path)),
            JSONMember("msg", .string(message)),
            JSONMember("type", .string(type)),
        ])
    }

    /// The location written with dots, such as `body.statuses.3.task_name`, for messages and logs.
    public var dottedLocation: String {
        location.map { component in
            switch component {
            case .key(let name): return name
            case .index(let index): return String(index)
            }
        }.joined(separator: ".")
    }
}
