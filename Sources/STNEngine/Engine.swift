import Dispatch
import STNKernels
import STNModel
import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Fixed-shape inference for the seed's CNN and ST-CNN on 42x42 frames.
///
/// Loading validates the weights, repacks them into the kernels' layouts and plans one
/// arena (a single 64-byte-aligned allocation) holding the packed weights and every
/// intermediate buffer. Running a frame then performs no heap allocation: the stages call
/// the SIMD kernels on fixed offsets into the arena.
///
/// An `Engine` runs one frame at a time on the calling thread; `inferBatch` spreads frames
/// over worker engines planned at init, one per thread.
public final class Engine {
    public let architecture: Architecture
    /// Frames are `frameSize x frameSize`, one channel.
    public let frameSize: Int
    private let net: PlannedNetwork
    private let workers: [PlannedNetwork]

    /// - Parameter threads: worker engines for `inferBatch` (default: every core).
    public init(weights: ModelWeights, threads: Int = processorCount()) throws {
        let architecture = weights.architecture
        guard architecture.inputSize == 42 else {
            throw EngineError(
                "the engine runs 42x42 frames; these weights are for \(architecture.inputSize)x\(architecture.inputSize)"
            )
        }
        self.architecture = architecture
        frameSize = architecture.inputSize
        net = PlannedNetwork(weights)
        // One thread runs on `net` itself: no second arena to plan and fill.
        workers = threads > 1 ? (0 ..< threads).map { _ in PlannedNetwork(weights) } : []
    }

    /// Loads and validates an HDF5 weight file (see `WeightFile`).
    public convenience init(weightsAt path: String, threads: Int = processorCount()) throws {
        let file = try WeightFile.read(path)
        do {
            try self.init(weights: file.weights, threads: threads)
        } catch let error as EngineError {
            throw EngineError("\(path): \(error.description)")
        }
    }

    /// Bytes in the arena of one engine (packed weights and activations).
    public var arenaBytes: Int { net.arenaBytes }

    /// Infers one frame of 42*42 8-bit pixels (0 black ... 255 white, scaled by 1/255).
    public func infer(pixels: UnsafePointer<UInt8>, into result: inout InferenceResult) {
        net.run(pixels: pixels, result: &result, times: nil)
    }

    /// Infers one frame of 42*42 floats in [0, 1].
    public func infer(frame: UnsafePointer<Float>, into result: inout InferenceResult) {
        net.run(frame: frame, result: &result, times: nil)
    }

    /// As `infer(pixels:into:)`, adding each stage's wall time to `times`.
    public func infer(pixels: UnsafePointer<UInt8>, into result: inout InferenceResult, times: inout StageTimes) {
        withUnsafeMutablePointer(to: &times) { net.run(pixels: pixels, result: &result, times: $0) }
    }

    /// Infers `count` frames (count * 42 * 42 pixels) into `results`, split into contiguous
    /// parts over up to `threads` workers (at most the number planned at init).
    public func inferBatch(
        pixels: UnsafePointer<UInt8>, count: Int, results: UnsafeMutablePointer<InferenceResult>, threads: Int
    ) {
        let frame = frameSize * frameSize
        let parts = max(1, min(threads, max(1, workers.count), count))
        if parts == 1 {
            for i in 0 ..< count { net.run(pixels: pixels + i * frame, result: &results[i], times: nil) }
            return
        }
        // Each part writes only its own worker's arena and its own slice of `results`.
        concurrentParts(parts) { part in
            let worker = workers[part]
            for i in count * part / parts ..< count * (part + 1) / parts {
                worker.run(pixels: pixels + i * frame, result: &results[i], times: nil)
            }
        }
    }

    /// The last frame's intermediate images, for golden tests and `--explain`: the input
    /// downsampled to 21x21 (ST models), and the transformer's 42x42 output (ST models).
    public var lastDownsampled: UnsafeBufferPointer<Float> { net.downsampled }
    public var lastSampled: UnsafeBufferPointer<Float> { net.sampled }
}

/// The arena and the stage sequence for one architecture.
final class PlannedNetwork {
    let side: Int
    let pixels: Int
    let arena: UnsafeMutableRawPointer
    let arenaBytes: Int

    // Shapes.
    let st: Bool
    let loc0: Conv2DShape, locPool: PoolReLUShape, loc3: Conv2DShape, loc6: LinearShape, loc8: LinearShape
    let conv0: Conv2DShape, pool0: PoolReLUShape, conv3: Conv2DShape, pool1: PoolReLUShape, fc0: LinearShape,
        fc2: LinearShape

    // Packed weights and biases (pointers into the arena).
    let wLoc0, bLoc0, wLoc3, bLoc3, wLoc6, bLoc6, wLoc8, bLoc8: UnsafeMutablePointer<Float>
    let wConv0, bConv0, wConv3, bConv3, wFc0, bFc0, wFc2, bFc2: UnsafeMutablePointer<Float>
    // Activations.
    let input, ds, l0, l1, l3, f6, theta, grid, sampledBuffer, c0, c1, c3, c4, h0, logits,
        logProbs: UnsafeMutablePointer<Float>

    var downsampled: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: ds, count: st ? (side / 2) * (side / 2) : 0)
    }
    var sampled: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: sampledBuffer, count: st ? pixels : 0) }

    init(_ weights: ModelWeights) {
        let architecture = weights.architecture
        side = architecture.inputSize
        pixels = side * side
        st = architecture.hasTransformer
        let half = side / 2
        loc0 = Conv2DShape(inH: half, inW: half, inC: 1, outC: 20, kernel: 5)
        locPool = PoolReLUShape(inH: loc0.outH, inW: loc0.outW, channels: loc0.outCp)
        loc3 = Conv2DShape(inH: locPool.outH, inW: locPool.outW, inC: locPool.channels, outC: 20, kernel: 5)
        loc6 = LinearShape(inputs: loc3.outputCount, outputs: 20)
        loc8 = LinearShape(inputs: loc6.outputsP, outputs: 6)
        let channels = architecture.classifierChannels
        conv0 = Conv2DShape(inH: side, inW: side, inC: 1, outC: channels, kernel: 9)
        pool0 = PoolReLUShape(inH: conv0.outH, inW: conv0.outW, channels: conv0.outCp)
        conv3 = Conv2DShape(inH: pool0.outH, inW: pool0.outW, inC: pool0.channels, outC: channels, kernel: 7)
        pool1 = PoolReLUShape(inH: conv3.outH, inW: conv3.outW, channels: conv3.outCp)
        fc0 = LinearShape(inputs: pool1.outputCount, outputs: 50)
        fc2 = LinearShape(inputs: fc0.outputsP, outputs: 10)

        // Plan: every buffer's offset, each rounded up to 64 bytes; then one allocation.
        var offsets: [Int] = []
        var total = 0
        func reserve(_ count: Int) -> Int {
            offsets.append(total)
            total += (max(count, 1) + 15) & ~15
            return offsets.count - 1
        }
        let stCount = { (n: Int) in architecture.hasTransformer ? n : 1 }
        let slots = [
            reserve(stCount(loc0.k * loc0.outCp)), reserve(stCount(loc0.outCp)), reserve(stCount(loc3.k * loc3.outCp)),
            reserve(stCount(loc3.outCp)),
            reserve(stCount(loc6.inputs * loc6.outputsP)), reserve(stCount(loc6.outputsP)),
            reserve(stCount(loc8.inputs * loc8.outputsP)), reserve(stCount(loc8.outputsP)),
            reserve(conv0.k * conv0.outCp), reserve(conv0.outCp), reserve(conv3.k * conv3.outCp), reserve(conv3.outCp),
            reserve(fc0.inputs * fc0.outputsP), reserve(fc0.outputsP), reserve(fc2.inputs * fc2.outputsP),
            reserve(fc2.outputsP),
            reserve(pixels), reserve(stCount(loc0.inputCount)), reserve(stCount(loc0.outputCount)),
            reserve(stCount(locPool.outputCount)),
            reserve(stCount(loc3.outputCount)), reserve(stCount(loc6.outputsP)), reserve(8),
            reserve(stCount(pixels * 2)), reserve(stCount(pixels)),
            reserve(conv0.outputCount), reserve(pool0.outputCount), reserve(conv3.outputCount),
            reserve(pool1.outputCount),
            reserve(fc0.outputsP), reserve(fc2.outputsP), reserve(fc2.outputsP),
        ]
        arenaBytes = total * MemoryLayout<Float>.stride
        // Anonymous pages arrive zeroed from the kernel (padding must be zero) and page-aligned;
        // MAP_POPULATE maps them all in one call rather than one page fault at a time.
        guard
            let mapped = mmap(
                nil, arenaBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0),
            mapped != MAP_FAILED
        else { fatalError("cannot map the engine's \(arenaBytes)-byte arena") }
        arena = mapped
        let base = arena.assumingMemoryBound(to: Float.self)
        let p = slots.map { base + offsets[$0] }
        (wLoc0, bLoc0, wLoc3, bLoc3, wLoc6, bLoc6, wLoc8, bLoc8) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7])
        (wConv0, bConv0, wConv3, bConv3, wFc0, bFc0, wFc2, bFc2) = (
            p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]
        )
        (input, ds, l0, l1, l3, f6, theta, grid) = (p[16], p[17], p[18], p[19], p[20], p[21], p[22], p[23])
        (sampledBuffer, c0, c1, c3, c4, h0, logits, logProbs) = (p[24], p[25], p[26], p[27], p[28], p[29], p[30], p[31])

        // Repack the weights once (inference needs no transposed copies: those are for the
        // backward pass).
        func packConv(
            _ shape: Conv2DShape, _ name: String, realInC: Int, _ w: UnsafeMutablePointer<Float>,
            _ b: UnsafeMutablePointer<Float>
        ) {
            weights[name + ".weight"].withUnsafeBufferPointer {
                shape.pack(torch: $0.baseAddress!, realInC: realInC, into: w)
            }
            weights[name + ".bias"].withUnsafeBufferPointer { b.update(from: $0.baseAddress!, count: shape.outC) }
        }
        func packLinear(
            _ shape: LinearShape, _ name: String, realInputs: Int, index: [Int?], _ w: UnsafeMutablePointer<Float>,
            _ b: UnsafeMutablePointer<Float>
        ) {
            weights[name + ".weight"].withUnsafeBufferPointer {
                shape.pack(torch: $0.baseAddress!, realInputs: realInputs, inputIndex: index, into: w)
            }
            weights[name + ".bias"].withUnsafeBufferPointer { b.update(from: $0.baseAddress!, count: shape.outputs) }
        }
        if st {
            packConv(loc0, "localisation_net.0", realInC: 1, wLoc0, bLoc0)
            packConv(loc3, "localisation_net.3", realInC: 20, wLoc3, bLoc3)
            packLinear(
                loc6, "localisation_net.6", realInputs: 320,
                index: LinearShape.flattenedIndex(h: loc3.outH, w: loc3.outW, channels: 20, channelsP: loc3.outCp),
                wLoc6, bLoc6)
            packLinear(
                loc8, "localisation_net.8", realInputs: 20, index: (0 ..< loc8.inputs).map { $0 < 20 ? $0 : nil },
                wLoc8, bLoc8)
        }
        packConv(conv0, "convs.0", realInC: 1, wConv0, bConv0)
        packConv(conv3, "convs.3", realInC: channels, wConv3, bConv3)
        packLinear(
            fc0, "classification.0", realInputs: channels * pool1.outH * pool1.outW,
            index: LinearShape.flattenedIndex(
                h: pool1.outH, w: pool1.outW, channels: channels, channelsP: pool1.channels), wFc0, bFc0)
        packLinear(
            fc2, "classification.2", realInputs: 50, index: (0 ..< fc2.inputs).map { $0 < 50 ? $0 : nil }, wFc2, bFc2)
    }

    deinit { munmap(arena, arenaBytes) }

    func run(
        pixels source: UnsafePointer<UInt8>, result: inout InferenceResult, times: UnsafeMutablePointer<StageTimes>?
    ) {
        let scale: Float = 1 / 255
        for i in 0 ..< pixels { input[i] = Float(source[i]) * scale }
        forward(input, &result, times)
    }

    func run(frame: UnsafePointer<Float>, result: inout InferenceResult, times: UnsafeMutablePointer<StageTimes>?) {
        forward(frame, &result, times)
    }

    @inline(__always)
    private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    private func forward(
        _ frame: UnsafePointer<Float>, _ result: inout InferenceResult, _ times: UnsafeMutablePointer<StageTimes>?
    ) {
        var t0 = times == nil ? 0 : now()
        var classifierInput = frame
        if st {
            Transformer.downsample(frame, height: side, width: side, into: ds)
            loc0.forward(input: ds, packed: wLoc0, bias: bLoc0, output: l0)
            locPool.forward(input: l0, output: l1, argmax: nil)
            loc3.forward(input: l1, packed: wLoc3, bias: bLoc3, output: l3)
            ReLU.forward(l3, count: loc3.outputCount)
            loc6.forward(input: l3, packed: wLoc6, bias: bLoc6, output: f6)
            ReLU.forward(f6, count: loc6.outputsP)
            loc8.forward(input: f6, packed: wLoc8, bias: bLoc8, output: theta)
            if let times {
                let t = now()
                times.pointee.localisation += t - t0
                t0 = t
            }
            Transformer.affineGrid(theta: theta, height: side, width: side, into: grid)
            if let times {
                let t = now()
                times.pointee.grid += t - t0
                t0 = t
            }
            Transformer.sample(frame, height: side, width: side, grid: grid, count: pixels, into: sampledBuffer)
            if let times {
                let t = now()
                times.pointee.sampler += t - t0
                t0 = t
            }
            classifierInput = UnsafePointer(sampledBuffer)
            result.hasTheta = true
            for i in 0 ..< 6 { result.theta[i] = theta[i] }
        } else {
            result.hasTheta = false
        }
        conv0.forward(input: classifierInput, packed: wConv0, bias: bConv0, output: c0)
        pool0.forward(input: c0, output: c1, argmax: nil)
        conv3.forward(input: c1, packed: wConv3, bias: bConv3, output: c3)
        pool1.forward(input: c3, output: c4, argmax: nil)
        fc0.forward(input: c4, packed: wFc0, bias: bFc0, output: h0)
        ReLU.forward(h0, count: fc0.outputsP)
        fc2.forward(input: h0, packed: wFc2, bias: bFc2, output: logits)
        let digit = LogSoftmax.forward(logits, count: 10, into: logProbs)
        result.digit = digit
        for i in 0 ..< 10 { result.logProbs[i] = logProbs[i] }
        result.probability = exp(logProbs[digit])
        if let times { times.pointee.classifier += now() - t0 }
    }
}
