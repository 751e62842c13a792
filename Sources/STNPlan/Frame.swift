/// The memory one thread runs the plan in: a buffer for every stored tensor (reached by the
/// tensor's id, which the plan resolved from its name), and, when training, a gradient
/// buffer per tensor, each step's gradient accumulators and its saved state (pooling
/// argmax, dropout masks, padded inputs).
///
/// An engine's frame points into its arena; a trainer's frames (one per thread) own their
/// buffers. Either way nothing is allocated while the plan runs.
public final class Frame {
    /// Value buffer of each tensor id (aliases point at their storage's buffer).
    let values: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// Gradient buffer of each tensor id (training), else the value table.
    let gradients: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// Per step: parameter-gradient accumulators, saved floats, saved integers.
    let accumulators: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    let savedFloats: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    let savedIntegers: UnsafeMutablePointer<UnsafeMutablePointer<Int32>>
    /// Transient work space of any step.
    let scratch: UnsafeMutablePointer<Float>
    /// Where a step writes the gradient of an input that another step also feeds: added
    /// into the input's gradient afterwards (slot 0 and 1).
    let gradientScratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// Keeps the frame's own buffers alive (trainer frames).
    let owned: [RawBuffer]
    /// A training frame: steps save what their backward pass needs.
    let training: Bool

    /// Dropout draws masks only while this is set (training steps).
    public var dropoutActive = false
    /// Batch norm normalises by the batch's statistics (which the trainer sets) rather than
    /// its running statistics while this is set (training steps).
    public var batchStatistics = false
    /// The dropout generator's state; set per image so masks do not depend on threads.
    var random: UInt64 = 0

    init(
        values: UnsafeMutablePointer<UnsafeMutablePointer<Float>>,
        gradients: UnsafeMutablePointer<UnsafeMutablePointer<Float>>,
        accumulators: UnsafeMutablePointer<UnsafeMutablePointer<Float>>,
        savedFloats: UnsafeMutablePointer<UnsafeMutablePointer<Float>>,
        savedIntegers: UnsafeMutablePointer<UnsafeMutablePointer<Int32>>,
        scratch: UnsafeMutablePointer<Float>,
        gradientScratch: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>), owned: [RawBuffer],
        training: Bool
    ) {
        self.training = training
        self.values = values
        self.gradients = gradients
        self.accumulators = accumulators
        self.savedFloats = savedFloats
        self.savedIntegers = savedIntegers
        self.scratch = scratch
        self.gradientScratch = gradientScratch
        self.owned = owned
    }

    /// The value buffer of tensor `id`.
    @inline(__always)
    public func value(_ id: Int) -> UnsafeMutablePointer<Float> { values[id] }

    /// Starts an image's dropout stream (deterministic per seed and image).
    public func seedDropout(_ seed: UInt64) {
        random = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0xD1B5_4A32_D192_ED03
    }

    /// A uniform float in [0, 1) (SplitMix64).
    @inline(__always)
    func nextUnit() -> Float {
        random &+= 0x9E37_79B9_7F4A_7C15
        var z = random
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) * (1 / Float(1 << 24))
    }
}

/// A 64-byte-aligned, zero-initialised allocation, freed with its owner.
final class RawBuffer {
    let pointer: UnsafeMutableRawPointer
    let bytes: Int

    init(bytes: Int) {
        self.bytes = max(bytes, 64)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.bytes, alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: self.bytes)
    }

    func floats(at offset: Int = 0) -> UnsafeMutablePointer<Float> {
        (pointer + offset * 4).assumingMemoryBound(to: Float.self)
    }

    deinit { pointer.deallocate() }
}
