/// One step of a planned model: an operation with fixed shapes reading tensors and writing
/// one, by id. Each kind keeps its forward and its backward side by side (Steps/).
///
/// The plan sets up every step once; `forward` and `backward` then only read and write the
/// frame's buffers and the step's packed weights. A step that runs kernels keeps the
/// `KernelTable` its plan bound (`kernels`) and calls them through it.
class Step {
    /// The layer the step runs (its output tensor's name), for reports and per-step timing.
    let name: String
    /// Tensor ids it reads and writes.
    let inputs: [Int]
    let output: Int
    /// Position in the plan (index of its accumulators and saved state in a frame).
    var index = 0
    /// Set by the plan: which inputs need a gradient, and which of those share it with
    /// another consumer (then the step writes into the frame's gradient scratch and the plan
    /// adds it in).
    var inputNeedsGradient: [Bool]
    var accumulatesGradient: [Bool]

    init(name: String, inputs: [Int], output: Int) {
        self.name = name
        self.inputs = inputs
        self.output = output
        inputNeedsGradient = inputs.map { _ in false }
        accumulatesGradient = inputs.map { _ in false }
    }

    // MARK: Parameters

    /// Floats of packed weights the step keeps (forward layout, and for training the
    /// transposed layout the input gradient uses).
    func weightFloats(training: Bool) -> Int { 0 }
    /// Places the packed weights (`weightFloats` floats, 64-byte aligned).
    func bind(weights: UnsafeMutablePointer<Float>, training: Bool) {}
    /// Repacks the weights from the flat parameter vector (PyTorch layouts).
    func load(_ parameters: UnsafePointer<Float>) {}
    /// Whether the step has parameters to train.
    var isTrainable: Bool { false }
    /// Floats of parameter-gradient accumulators per frame.
    var gradientFloats: Int { 0 }
    /// Adds one frame's accumulated gradients into the flat gradient vector.
    func unpackGradients(_ accumulators: UnsafePointer<Float>, into gradients: UnsafeMutablePointer<Float>) {}

    // MARK: Frame memory

    /// Floats and integers the step saves per frame for its backward pass (training), or
    /// needs across its own forward (inference).
    func savedFloats(training: Bool) -> Int { 0 }
    func savedIntegers(training: Bool) -> Int { 0 }
    /// Transient floats it needs while running (training: also in its backward pass).
    func scratchFloats(training: Bool) -> Int { 0 }

    // MARK: Running

    func forward(_ frame: Frame) {}

    /// Reads the output's gradient, writes the inputs' gradients that are needed, and adds
    /// to the parameter-gradient accumulators.
    func backward(_ frame: Frame) {}

    /// The step adds the gradient of an input that another step also feeds straight into
    /// that input's gradient (and overwrites it only where `accumulatesGradient` is false),
    /// instead of writing it to the frame's gradient scratch for the plan to add: a step of
    /// more than two inputs, which the two scratch buffers cannot serve.
    var addsGradientsInPlace: Bool { false }

    /// Where to write input `slot`'s gradient.
    @inline(__always)
    func gradientTarget(_ frame: Frame, _ slot: Int) -> UnsafeMutablePointer<Float> {
        if accumulatesGradient[slot] { return slot == 0 ? frame.gradientScratch.0 : frame.gradientScratch.1 }
        return frame.gradients[inputs[slot]]
    }
}
