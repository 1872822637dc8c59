/// A fast, non-cryptographic source of random bits (xoshiro256**) seeded from the system generator.
///
/// Identifier generators draw from it once per id, where a system call per id would cost more than
/// the rest of the work. Ids need uniqueness and time order, not secrecy.
struct RandomBits: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        state = (system.next(), system.next(), system.next(), system.next())
        // An all-zero state would only ever produce zeros.
        if state == (0, 0, 0, 0) {
            state.0 = 0x9E37_79B9_7F4A_7C15
        }
    }

    mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    private func rotateLeft(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}
