/// The error codes of the contract, in the platform's spelling.
public enum ErrorCode: String, Sendable, Hashable, CaseIterable {
    case validationError = "validation_error"
    case badRequest = "bad_request"
    case notFound = "not_found"
    case repositoryError = "repository_error"
    case internalError = "internal_error"
}

/// A failure in the platform's terms: the code, a message a person can act on, optional details,
/// and the HTTP status the endpoint would have returned.
public struct ContractError: Error, Sendable, Hashable {
    public var code: ErrorCode
    public var message: String
    /// `null`, an object, or an array (for `validation_error`, a list of `{loc, msg, type}`).
    public var details: JSONValue
    public var httpStatus: Int

    public init(code: ErrorCode, message: String, details: JSONValue = .null, httpStatus: Int) {
        self.code = code
        self.message = message
        self.details = details
        self.httpStatus = httpStatus
    }

    /// Whether retrying can never help: 4xx statuses are final, 5xx are not.
    public var isFinal: Bool { httpStatus < 500 }
}
