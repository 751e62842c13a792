/// A fully connected layer for one input vector, forward and backward.
///
/// The input is the producer's buffer of `inputs` floats (e.g. a flattened NHWC map with
/// padded channels); `inputIndex(i)` maps it to PyTorch's input index, or nil for padding.
/// Packed layouts, built once per step from PyTorch's `[out, in]`:
///   - `packed`  `[inputs][outputsP]` (outputs rounded up to 8) for the forward pass;
///   - `packedT` `[outputsP][inputsP]` (inputs rounded up to 8) for the input gradient.
public struct LinearShape: Sendable, Equatable {
    public let inputs: Int
    public let outputs: Int
    @inlinable public var outputsP: Int { roundUp8(outputs) }
    @inlinable public var inputsP: Int { roundUp8(inputs) }

    @inlinable
    public init(inputs: Int, outputs: Int) {
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Maps our input index to PyTorch's for a flattened `h x w x channelsP` NHWC buffer
    /// holding `channels` real channels (PyTorch flattens C, H, W).
    public static func flattenedIndex(h: Int, w: Int, channels: Int, channelsP: Int) -> [Int?] {
        (0 ..< h * w * channelsP).map { i in
            let c = i % channelsP
            let s = i / channelsP
            return c < channels ? c * h * w + s : nil
        }
    }

    public func pack(
        torch w: UnsafePointer<Float>, realInputs: Int, inputIndex: [Int?], into packed: UnsafeMutablePointer<Float>,
        transposed packedT: UnsafeMutablePointer<Float>? = nil
    ) {
        packed.initialize(repeating: 0, count: inputs * outputsP)
        packedT?.initialize(repeating: 0, count: outputsP * inputsP)
        for i in 0 ..< inputs {
            guard let t = inputIndex[i] else { continue }
            for o in 0 ..< outputs {
                let v = w[o * realInputs + t]
                packed[i * outputsP + o] = v
                packedT?[o * inputsP + i] = v
            }
        }
    }

    /// A packed `[inputs][outputsP]` gradient -> PyTorch `[out, in]`, added to `w`.
    public func unpackAdding(
        packed: UnsafePointer<Float>, realInputs: Int, inputIndex: [Int?], into w: UnsafeMutablePointer<Float>
    ) {
        for i in 0 ..< inputs {
            guard let t = inputIndex[i] else { continue }
            for o in 0 ..< outputs { w[o * realInputs + t] += packed[i * outputsP + o] }
        }
    }
}
