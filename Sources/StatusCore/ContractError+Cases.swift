// MARK: - The contract's errors

extension ContractError {
    /// The one error for an execution that does not exist, is deleted, or belongs to another
    /// organization: 404 `not_found` without details, so that no tenant learns of another's executions.
    public static let flowExecutionNotFound = ContractError(
        code: .notFound,
        message: "Flow execution not found",
        details: .null,
        httpStatus: 404
    )

    /// Makes a 422 `validation_error` listing every bad field in `details`.
    ///
    /// The message names the first issue, so that a log line alone shows what to fix.
    public static func validationFailed(_ issues: [ValidationIssue]) -> ContractError {
        var message = "Request validation failed"
        if let first = issues.first {
            message += " at \(first.dottedLocation): \(first.message)"
            if issues.count > 1 {
                message += " (and \(issues.count - 1) more in details)"
            }
        }
        return ContractError(
            code: .validationError,
            message: message,
            details: .array(issues.map(\.json)),
            httpStatus: 422
        )
    }

    /// Makes a 422 `validation_error` about the record value as a whole (missing, not UTF-8, not JSON, not
    /// an object), with the one issue at location `["body"]` in `details`.
    public static func invalidValue(message: String, issue: ValidationIssue) -> ContractError {
        ContractError(code: .validationError, message: message, details: .array([issue.json]), httpStatus: 422)
    }

    /// Makes a 400 `bad_request`.
    public static func badRequest(_ message: String, details: JSONValue = .null) -> ContractError {
        ContractError(code: .badRequest, message: message, details: details, httpStatus: 400)
    }

    /// Makes a 500 `repository_error`: the database failed, or rejected the record's own data. In the
    /// second case `details` carries the database's message.
    public static func repositoryError(_ message: String, details: JSONValue = .null) -> ContractError {
        ContractError(code: .repositoryError, message: message, details: details, httpStatus: 500)
    }

    /// Makes a 500 `internal_error`, for anything the contract does not foresee.
    public static func internalError(_ message: String, details: JSONValue = .null) -> ContractError {
        ContractError(code: .internalError, message: message, details: details, httpStatus: 500)
    }
}
