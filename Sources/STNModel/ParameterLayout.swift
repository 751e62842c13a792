/// The model's parameters as one flat vector in layer order, each tensor in its PyTorch
/// layout: the optimiser updates it with one loop, checkpoints store it as is, and the
/// planned steps find their parameters in it by name.
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

    /// The flat vector of a set of weights, in layout order.
    public func flatten(_ weights: ModelWeights) -> [Float] {
        [Float](unsafeUninitializedCapacity: total) { buffer, count in
            if let base = buffer.baseAddress { flatten(weights, into: base) }
            count = total
        }
    }

    /// Writes the flat vector of a set of weights, in layout order, to `flat` (`total` values).
    public func flatten(_ weights: ModelWeights, into flat: UnsafeMutablePointer<Float>) {
        for (i, name) in names.enumerated() {
            weights[name].withUnsafeBufferPointer { values in
                if let source = values.baseAddress { (flat + offsets[i]).update(from: source, count: counts[i]) }
            }
        }
    }

    /// Weights from a flat vector; fails if any value is not finite.
    public func weights(from flat: [Float], architecture: Architecture) throws -> ModelWeights {
        var tensors: [String: [Float]] = [:]
        for (i, name) in names.enumerated() { tensors[name] = Array(flat[offsets[i] ..< offsets[i] + counts[i]]) }
        return try ModelWeights(architecture: architecture, tensors: tensors)
    }
}
