/// The metrics server could not start: the address does not resolve or the port cannot be bound.
public struct HTTPServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
