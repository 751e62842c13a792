import STNData
import STNModel

/// PyTorch's default initialisation, reproducibly from a seed:
/// kaiming-uniform with a = sqrt(5) for weights, which is uniform(+-1/sqrt(fanIn)), and
/// uniform(+-1/sqrt(fanIn)) for biases; batch norm at weight 1, bias 0, mean 0, variance 1;
/// the layer that outputs a transform's parameters starts at zero weights and the identity
/// transform (1, 0, 0, 0, 1, 0) as bias, as in the seed and PyTorch's tutorial; PReLU's
/// slopes at 0.25.
public enum Initializer {
    public static func pytorchDefault(_ architecture: Architecture, seed: UInt64) -> ModelWeights {
        var weights = ModelWeights.zeros(architecture)
        let identities = architecture.thetaIdentities
        var thetaBiases: [String: [Float]] = [:]
        var thetaParameters = Set<String>()
        for spec in architecture.layers {
            guard let identity = identities[spec.name] else { continue }
            for parameter in spec.parameters {
                thetaParameters.insert(parameter.name)
                if parameter.role == .bias { thetaBiases[parameter.name] = identity }
            }
        }
        for (index, spec) in architecture.parameters.enumerated() {
            var values = [Float](repeating: 0, count: spec.count)
            if thetaParameters.contains(spec.name) {
                if let identity = thetaBiases[spec.name] { values = identity }
            } else if spec.role == .buffer {
                // Fixed values come with the model; alone, a scale starts at 1, the rest at 0.
                values = [Float](repeating: spec.name.hasSuffix(".scale") ? 1 : 0, count: spec.count)
            } else if spec.role == .slope {
                values = [Float](repeating: 0.25, count: spec.count)
            } else if spec.role == .runningVariance || (spec.role == .weight && spec.shape.count == 1) {
                values = [Float](repeating: 1, count: spec.count)
            } else if spec.role != .runningMean {
                // One stream per tensor, so adding a layer does not reshuffle the others.
                var random = PRNG(seed: seed, stream: 0x1417 &+ UInt64(index))
                let bound = 1 / Float(spec.fanIn).squareRoot()
                for i in values.indices { values[i] = (2 * random.nextUnitFloat() - 1) * bound }
            }
            // Cannot fail: names and counts come from the architecture.
            try! weights.set(spec.name, values)
        }
        return weights
    }
}
