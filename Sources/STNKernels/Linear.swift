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
    public var outputsP: Int { roundUp8(outputs) }
    public var inputsP: Int { roundUp8(inputs) }

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

    /// output[o] = bias[o] + sum_i input[i] * W[o][i]; `bias` and `output` have outputsP entries.
    public func forward(
        input: UnsafePointer<Float>, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.linearForward(self, input: input, packed: packed, bias: bias, output: output)
            }
        #endif
        output.update(from: bias, count: outputsP)
        gemmAccumulate(
            m: 1, n: outputsP, a: input, rows: .linear(step: 0), b: packed,
            reduction: .contiguous(inputs, ldb: outputsP), c: output, ldc: outputsP)
    }

    /// dW[i][o] += input[i] * dOutput[o]; dBias += dOutput.
    public func backwardWeights(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
        dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.linearBackwardWeights(
                    self, input: input, dOutput: dOutput, dPacked: dPacked, dBias: dBias)
            }
        #endif
        gemmAccumulate(
            m: inputs, n: outputsP, a: input, rows: .linear(step: 1), b: dOutput,
            reduction: Reduction(n1: 1, n2: 1, aStride1: 0, aStride2: 0, bStride1: 0, bStride2: 0),
            c: dPacked, ldc: outputsP)
        for o in 0 ..< outputsP { dBias[o] += dOutput[o] }
    }

    /// dInput[i] = sum_o dOutput[o] * W[o][i] (overwritten; inputsP entries).
    public func backwardInput(
        dOutput: UnsafePointer<Float>, packedT: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>
    ) {
        #if STN_DISPATCH
            if let kernels = ISA.kernels {
                return kernels.linearBackwardInput(self, dOutput: dOutput, packedT: packedT, dInput: dInput)
            }
        #endif
        dInput.initialize(repeating: 0, count: inputsP)
        gemmAccumulate(
            m: 1, n: inputsP, a: dOutput, rows: .linear(step: 0), b: packedT,
            reduction: .contiguous(outputsP, ldb: inputsP), c: dInput, ldc: inputsP)
    }
}
