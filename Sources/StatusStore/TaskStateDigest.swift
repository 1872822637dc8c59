import Foundation

/// Computes `StoreStats.taskStatesSHA256` from the rows of `task_states`, in Swift, so that both stores
/// sort and hash exactly alike whatever their collation.
struct TaskStateDigest {
    private var lines: [(executionID: String, taskName: String, status: String?)] = []

    /// Adds one current state. `executionID` is lowercase canonical UUID text.
    mutating func add(executionID: String, taskName: String, status: String?) {
        lines.append((executionID.lowercased(), taskName, status))
    }

    var count: Int { lines.count }

    /// Returns the hex SHA-256 of the lines `id TAB task_name TAB status LF`, sorted by id then task name
    /// in UTF-8 byte order; a null status is an empty field.
    func hexDigest() -> String {
        let sorted = lines.sorted { left, right in
            if left.executionID != right.executionID {
                return left.executionID.utf8.lexicographicallyPrecedes(right.executionID.utf8)
            }
            return left.taskName.utf8.lexicographicallyPrecedes(right.taskName.utf8)
        }

        var hash = SHA256()
        for line in sorted {
            hash.update(line.executionID)
            hash.update("\t")
            hash.update(line.taskName)
            hash.update("\t")
            hash.update(line.status ?? "")
            hash.update("\n")
        }
        return hash.finalizeHex()
    }
}
