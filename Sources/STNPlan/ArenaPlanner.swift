/// Places buffers in one arena by lifetime, as TFLite Micro's greedy memory planner does:
/// largest first, each at the lowest offset where it overlaps no buffer alive at the same
/// time. Buffers whose lifetimes do not overlap share memory.
public struct ArenaPlanner {
    public struct Request {
        /// Floats (a multiple of 16, so every offset stays 64-byte aligned).
        public let count: Int
        /// First and last step (inclusive) during which the buffer holds live data.
        public let first: Int
        public let last: Int
    }

    public private(set) var requests: [Request] = []

    public init() {}

    /// Adds a request; returns its index.
    public mutating func request(count: Int, first: Int, last: Int) -> Int {
        requests.append(Request(count: (max(count, 1) + 15) & ~15, first: first, last: last))
        return requests.count - 1
    }

    /// Offsets (in floats) of every request, and the arena's size in floats.
    public func plan() -> (offsets: [Int], total: Int) {
        let order = requests.indices.sorted {
            requests[$0].count != requests[$1].count ? requests[$0].count > requests[$1].count : $0 < $1
        }
        var offsets = [Int](repeating: 0, count: requests.count)
        var placed: [Int] = []
        var total = 0
        for i in order {
            let r = requests[i]
            let conflicts = placed.filter { requests[$0].first <= r.last && r.first <= requests[$0].last }
                .map { (offsets[$0], offsets[$0] + requests[$0].count) }
                .sorted { $0.0 < $1.0 }
            var candidate = 0
            for (start, end) in conflicts {
                if candidate + r.count <= start { break }
                candidate = max(candidate, end)
            }
            offsets[i] = candidate
            placed.append(i)
            total = max(total, candidate + r.count)
        }
        return (offsets, total)
    }
}
