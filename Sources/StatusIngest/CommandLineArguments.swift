/// The words of a command line, split into options and positional arguments.
///
/// `--name value` and `--name=value` set an option; a flag is an option declared without a value.
/// Everything after `--` is positional.
public struct CommandLineArguments: Sendable {
    public private(set) var options: [String: String] = [:]
    public private(set) var flags: Set<String> = []
    public private(set) var positionals: [String] = []

    /// Splits `arguments`, knowing which options are flags and which take a value.
    ///
    /// - Throws: `UsageError` for an unknown option or an option missing its value.
    public init(_ arguments: [String], flags knownFlags: Set<String>, options knownOptions: Set<String>) throws {
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || !argument.hasPrefix("--") || argument == "-" {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if knownFlags.contains(name) {
                guard inlineValue == nil else {
                    throw UsageError("option --\(name) takes no value")
                }
                flags.insert(name)
            } else if knownOptions.contains(name) {
                if let inlineValue {
                    options[name] = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError("option --\(name) needs a value")
                    }
                    options[name] = arguments[index]
                    index += 1
                }
            } else {
                throw UsageError("unknown option --\(name)")
            }
        }
    }

    public func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = options[name] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError("--\(name) \(text) is invalid: expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}

/// A command line that cannot be run as written; the message says what to change.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
