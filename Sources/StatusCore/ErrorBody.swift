/// The platform's error body, `{"error": {"message": …, "code": …, "details": …}, "request_id": …}`,
/// with members in that order.
public struct ErrorBody: Sendable, Hashable {
    public var error: ContractError
    /// The ULID of the failed request: made for the failure, or the one the record carried.
    public var requestID: String

    public init(error: ContractError, requestID: String) {
        self.error = error
        self.requestID = requestID
    }

    /// Creates the body with a request id from `generator`.
    public init(error: ContractError, generator: inout ULIDGenerator) {
        self.init(error: error, requestID: generator.next().description)
    }

    /// The body as a JSON value.
    public var json: JSONValue {
        .object([
            JSONMember("error", .object([
                JSONMember("message", .string(error.message)),
                JSONMember("code", .string(error.code.rawValue)),
                JSONMember("details", error.details),
            ])),
            JSONMember("request_id", .string(requestID)),
        ])
    }

    /// Writes the body as compact JSON in UTF-8.
    public func serialized() -> [UInt8] {
        json.serialized()
    }
}
