import Foundation
import StatusCore

/// Turns valid input records into broken or borderline ones, reproducibly from a seed: flipped
/// bytes, cut values, fields of the wrong type, strings at and past their limits, deep nesting,
/// invalid UTF-8, wrong keys and batch sizes at their limits.
struct RecordMutator {
    /// One record to produce: key and value, either possibly missing.
    struct Record {
        var key: [UInt8]?
        var value: [UInt8]?
        var mutation: String
    }

    private var generator: SeededGenerator
    /// Known flow executions, whose ids make keys that name another execution than the value does.
    private let executions: [FlowExecution]

    init(seed: UInt64, executions: [FlowExecution]) {
        generator = SeededGenerator(seed: seed)
        self.executions = executions
    }

    // MARK: - Mutations

    /// Returns a mutated copy of `record`, whose value must be a JSON object.
    mutating func mutate(_ record: Record) -> Record {
        guard let value = record.value, case .object(let members)? = try? JSONParser.parse(value) else {
            return flipBytes(record)
        }
        switch Int.random(in: 0..<13, using: &generator) {
        case 0: return flipBytes(record)
        case 1: return truncate(record)
        case 2: return wrongType(record, members: members)
        case 3: return longString(record, members: members, lengths: [49, 50, 51, 254, 255, 256, 1_000])
        case 4: return nested(record)
        case 5: return withValue(record, members: members, key: "status", .string("bad\u{0}status"), mutation: "nul character")
        case 6: return invalidUTF8(record)
        case 7: return otherKey(record)
        case 8: return Record(key: nil, value: record.value, mutation: "no key")
        case 9: return missingValue(record)
        case 10: return batch(record, members: members)
        case 11: return withValue(record, members: members, key: "organization_id", .string("not-a-uuid"), mutation: "invalid organization_id")
        default: return record
        }
    }

    /// Returns `record` with a string field of about `bytes` bytes: the largest records a broker takes.
    mutating func oversized(_ record: Record, bytes: Int, valid: Bool) -> Record {
        guard let value = record.value, case .object(let members)? = try? JSONParser.parse(value) else { return record }
        let padding = JSONValue.string(String(repeating: "x", count: bytes))
        if valid {
            return withValue(record, members: members, key: "padding", padding, mutation: "\(bytes)-byte unknown field")
        }
        return withValue(record, members: members, key: "status", padding, mutation: "\(bytes)-byte status")
    }

    private mutating func flipBytes(_ record: Record) -> Record {
        guard var value = record.value, !value.isEmpty else { return record }
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            value[Int.random(in: 0..<value.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
        }
        return Record(key: record.key, value: value, mutation: "flipped bytes")
    }

    private mutating func truncate(_ record: Record) -> Record {
        guard let value = record.value, !value.isEmpty else { return record }
        return Record(key: record.key, value: Array(value.prefix(Int.random(in: 0..<value.count, using: &generator))), mutation: "cut short")
    }

    private mutating func wrongType(_ record: Record, members: [JSONMember]) -> Record {
        let wrongValues: [JSONValue] = [.number("42"), .number("-1e999"), .bool(true), .null, .array([]), .object([]), .string("")]
        let wrong = wrongValues[Int.random(in: 0..<wrongValues.count, using: &generator)]
        let keys = members.map(\.key) + ["statuses", "event_id", "emitted_at"]
        let key = keys[Int.random(in: 0..<keys.count, using: &generator)]
        return withValue(record, members: members, key: key, wrong, mutation: "\(key) as \(wrong.jsonText)")
    }

    private mutating func longString(_ record: Record, members: [JSONMember], lengths: [Int]) -> Record {
        let key = ["task_name", "status", "event_id"][Int.random(in: 0..<3, using: &generator)]
        let length = lengths[Int.random(in: 0..<lengths.count, using: &generator)]
        // Multi-byte characters make byte and character counts differ, as the limits count characters.
        let alphabet: [Character] = ["a", "é", "\u{1F642}", "中"]
        let text = String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        return withValue(record, members: members, key: key, .string(text), mutation: "\(key) of \(length) characters")
    }

    private mutating func nested(_ record: Record) -> Record {
        let depths = [10, JSONParser.maximumDepth - 1, JSONParser.maximumDepth, JSONParser.maximumDepth + 1, 10_000, 20_000]
        let depth = depths[Int.random(in: 0..<depths.count, using: &generator)]
        // Built as text: a JSONValue this deep would be as deep on the stack when serialized.
        var value = record.value ?? []
        guard value.last == UInt8(ascii: "}") else { return record }
        value.removeLast()
        value += Array(",\"nested\":".utf8) + Array(repeating: UInt8(ascii: "["), count: depth)
            + Array(repeating: UInt8(ascii: "]"), count: depth) + [UInt8(ascii: "}")]
        return Record(key: record.key, value: value, mutation: "arrays nested \(depth) deep")
    }

    private mutating func invalidUTF8(_ record: Record) -> Record {
        guard var value = record.value, let quote = value.lastIndex(of: UInt8(ascii: "\"")) else { return record }
        let sequences: [[UInt8]] = [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]]
        value.insert(contentsOf: sequences[Int.random(in: 0..<sequences.count, using: &generator)], at: quote)
        return Record(key: record.key, value: value, mutation: "invalid UTF-8")
    }

    private mutating func missingValue(_ record: Record) -> Record {
        switch Int.random(in: 0..<3, using: &generator) {
        case 0: return Record(key: record.key, value: nil, mutation: "tombstone")
        case 1: return Record(key: record.key, value: [], mutation: "empty value")
        default: return Record(key: record.key, value: Array(" \n".utf8), mutation: "blank value")
        }
    }

    private mutating func otherKey(_ record: Record) -> Record {
        let other = executions[Int.random(in: 0..<executions.count, using: &generator)]
        return Record(key: Array(other.id.uuidString.lowercased().utf8), value: record.value, mutation: "key of another execution")
    }

    private mutating func batch(_ record: Record, members: [JSONMember]) -> Record {
        let sizes = [0, 1, 2, 100, 101]
        let size = sizes[Int.random(in: 0..<sizes.count, using: &generator)]
        let taskName = members.first { $0.key == "task_name" }?.value ?? .string("extract")
        let items = (0..<size).map { index in
            JSONValue.object([JSONMember("task_name", taskName), JSONMember("status", .string("step-\(index)"))])
        }
        var batchMembers = members.filter { $0.key != "task_name" && $0.key != "status" }
        batchMembers.append(JSONMember("statuses", .array(items)))
        return Record(key: record.key, value: JSONValue.object(batchMembers).serialized(), mutation: "batch of \(size)")
    }

    private func withValue(_ record: Record, members: [JSONMember], key: String, _ value: JSONValue, mutation: String) -> Record {
        var changed = members.filter { $0.key != key }
        changed.append(JSONMember(key, value))
        return Record(key: record.key, value: JSONValue.object(changed).serialized(), mutation: mutation)
    }
}

/// SplitMix64: a small generator whose sequence depends only on its seed, so a failing fuzz run
/// can be replayed from the seed it prints.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
