import STNModel

/// The model's parameters as one flat vector in `state_dict` order, each tensor in its
/// PyTorch layout: the optimiser updates it with one loop, checkpoints store it as is.
public struct ParameterLayout: Sendable, Equatable {
    public let names: [String]
    public let offsets: [Int]
    public let counts: [Int]
    public let total: Int

    public init(_ architecture: Architecture) {
        var offsets: [Int] = []
        var counts: [Int] = []
        var total = 0
        for spec in architecture.parameters {
            offsets.append(total)
            counts.append(spec.count)
            total += spec.count
        }
        names = architecture.parameters.map(\.name)
        self.offsets = offsets
        self.counts = counts
        self.total = total
    }

    public func range(of name: String) -> Range<Int>? {
        guard let i = names.firstIndex(of: name) else { return nil }
        return offsets[i] ..< offsets[i] + counts[i]
    }

    func offset(_ name: String) -> Int {
        guard let i = names.firstIndex(of: name) else { preconditionFailure("no parameter \(name)") }
        return offsets[i]
    }
}
