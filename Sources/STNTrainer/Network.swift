import Dispatch
import Foundation
import STNData
import STNKernels
import STNModel
import STNSystem

/// The trainable model: parameters as one flat vector (state_dict order, PyTorch layouts),
/// a forward and backward pass over a batch spread across threads, and gradients.
///
/// Deterministic: the batch is split into `threads` contiguous parts, each thread
/// accumulates its part in order, and the parts are summed in thread order, so the same
/// inputs and thread count give bit-identical gradients.
public final class Network {
    public let architecture: Architecture
    public let layout: ParameterLayout
    /// Flat parameters; the optimiser updates them in place between steps.
    public var parameters: [Float]
    /// Gradient of the mean loss over the last batch, same layout as `parameters`.
    public private(set) var gradients: [Float]
    public let threads: Int
    public let maxBatch: Int

    let plan: ModelPlan
    let workspaces: [Workspace]

    public init(architecture: Architecture, maxBatch: Int, threads: Int) {
        self.architecture = architecture
        layout = ParameterLayout(architecture)
        parameters = [Float](repeating: 0, count: layout.total)
        gradients = [Float](repeating: 0, count: layout.total)
        self.threads = max(1, threads)
        self.maxBatch = max(1, maxBatch)
        let plan = ModelPlan(architecture, layout: layout)
        self.plan = plan
        // Threads share the packed weights read-only and own everything they write.
        workspaces = (0 ..< max(1, threads)).map { _ in Workspace(plan: plan) }
    }

    public func load(_ weights: ModelWeights) {
        parameters = layout.flatten(weights)
    }

    public func weights() throws -> ModelWeights {
        try layout.weights(from: parameters, architecture: architecture)
    }

    /// Repacks the flat parameters into the kernels' layouts (once per step).
    private func pack() {
        parameters.withUnsafeBufferPointer { plan.load($0.baseAddress!) }
    }

    /// Splits `count` items into `threads` contiguous parts and runs them concurrently.
    private func parallel(_ count: Int, _ body: (Int, Range<Int>) -> Void) {
        let parts = min(threads, count)
        if parts <= 1 {
            body(0, 0 ..< count)
            return
        }
        // Each part writes only its own workspace and its own slots of the callers' arrays.
        concurrentParts(parts) { part in
            body(part, count * part / parts ..< count * (part + 1) / parts)
        }
    }

    /// Runs `body` on each thread's part of `count` items and sums the (loss, correct) it
    /// returns in thread order, so the totals do not depend on scheduling.
    private func sumOverThreads(_ count: Int, _ body: (Workspace, Range<Int>) -> (Double, Int)) -> (
        loss: Double, correct: Int
    ) {
        var losses = [Double](repeating: 0, count: threads)
        var corrects = [Int](repeating: 0, count: threads)
        losses.withUnsafeMutableBufferPointer { losses in
            corrects.withUnsafeMutableBufferPointer { corrects in
                parallel(count) { part, range in
                    (losses[part], corrects[part]) = body(workspaces[part], range)
                }
            }
        }
        return (losses.reduce(0, +), corrects.reduce(0, +))
    }

    /// Forward and backward over `count` images (count * 42 * 42 floats in [0, 1]).
    /// Returns the mean NLL loss and the number of correct predictions; fills `gradients`
    /// (of the label-smoothed loss with `labelSmoothing` > 0; the returned loss stays the NLL).
    public func forwardBackward(
        images: UnsafePointer<Float>, labels: UnsafePointer<UInt8>, count: Int,
        labelSmoothing: Float = 0
    ) -> (loss: Double, correct: Int) {
        precondition(count > 0 && count <= maxBatch, "batch of \(count) exceeds the planned \(maxBatch)")
        pack()
        let pixels = plan.side * plan.side
        let scale = 1 / Float(count)
        let (lossSum, correct) = sumOverThreads(count) { w, range in
            w.zeroGradients()
            var loss = 0.0
            var correct = 0
            for i in range {
                let image = images + i * pixels
                let label = Int(labels[i])
                if w.forward(image) == label { correct += 1 }
                loss -= Double(w.logProbs.pointer[label])
                w.backward(image, label: label, scale: scale, smoothing: labelSmoothing)
            }
            return (loss, correct)
        }
        // Sum the threads' accumulators in order and unpack to PyTorch layouts.
        let used = min(threads, count)
        gradients.withUnsafeMutableBufferPointer { g in
            g.initialize(repeating: 0)
            for part in 0 ..< used {
                let w = workspaces[part]
                for (layer, grad) in zip(plan.convs, w.convGrads) {
                    layer.unpackAdding(dPacked: grad.packed.pointer, dBias: grad.bias.pointer, into: g.baseAddress!)
                }
                for (layer, grad) in zip(plan.linears, w.linearGrads) {
                    layer.unpackAdding(dPacked: grad.packed.pointer, dBias: grad.bias.pointer, into: g.baseAddress!)
                }
            }
        }
        return (lossSum / Double(count), correct)
    }

    /// Forward only. Returns the summed NLL (if labels are given) and the number correct;
    /// optionally writes count * 10 log-probabilities and count * 6 thetas (ST models).
    public func evaluate(
        images: UnsafePointer<Float>, labels: UnsafePointer<UInt8>?, count: Int,
        logProbs: UnsafeMutablePointer<Float>?, thetas: UnsafeMutablePointer<Float>?
    ) -> (lossSum: Double, correct: Int) {
        guard count > 0 else { return (0, 0) }
        pack()
        let pixels = plan.side * plan.side
        let totals = sumOverThreads(count) { w, range in
            var loss = 0.0
            var correct = 0
            for i in range {
                let digit = w.forward(images + i * pixels)
                if let labels {
                    let label = Int(labels[i])
                    if digit == label { correct += 1 }
                    loss -= Double(w.logProbs.pointer[label])
                }
                logProbs?.advanced(by: i * 10).update(from: w.logProbs.pointer, count: 10)
                thetas?.advanced(by: i * 6).update(from: w.theta.pointer, count: 6)
            }
            return (loss, correct)
        }
        return (totals.loss, totals.correct)
    }

    /// Every intermediate activation for one image, in PyTorch layout (C, H, W), keyed as in
    /// the golden fixtures: "downsampled", "localisation_net.0", ".2", ".3", ".4", ".6", ".7",
    /// "theta", "grid" (H, W, 2), "sampled", "convs.0", "convs.2", "convs.3", "convs.5",
    /// "flat", "classification.0", ".1", ".2", "log_probs".
    public func activations(image: UnsafePointer<Float>) -> [String: [Float]] {
        pack()
        let w = workspaces[0]
        w.forward(image)
        let p = w.plan
        var out: [String: [Float]] = [:]
        func chw(_ b: Floats, h: Int, w: Int, c: Int, cp: Int) -> [Float] {
            var r = [Float](repeating: 0, count: c * h * w)
            for ch in 0 ..< c { for s in 0 ..< h * w { r[ch * h * w + s] = b.pointer[s * cp + ch] } }
            return r
        }
        func vector(_ b: Floats, _ n: Int) -> [Float] { Array(UnsafeBufferPointer(start: b.pointer, count: n)) }
        let side = p.side
        if let loc0 = p.loc0, let pool = p.locPool, let loc3 = p.loc3 {
            out["downsampled"] = vector(w.downsampled, loc0.shape.inputCount)
            out["localisation_net.0"] = chw(w.l0, h: loc0.shape.outH, w: loc0.shape.outW, c: 20, cp: loc0.shape.outCp)
            out["localisation_net.2"] = chw(w.l1, h: pool.outH, w: pool.outW, c: 20, cp: pool.channels)
            out["localisation_net.3"] = chw(w.l3, h: loc3.shape.outH, w: loc3.shape.outW, c: 20, cp: loc3.shape.outCp)
            let l4 = chw(w.l4, h: loc3.shape.outH, w: loc3.shape.outW, c: 20, cp: loc3.shape.outCp)
            out["localisation_net.4"] = l4
            out["localisation_net.5"] = l4
            out["localisation_net.6"] = vector(w.f6, 20)
            out["localisation_net.7"] = vector(w.f7, 20)
            out["localisation_net.8"] = vector(w.theta, 6)
            out["theta"] = vector(w.theta, 6)
            out["grid"] = vector(w.grid, side * side * 2)
            out["sampled"] = vector(w.sampled, side * side)
        }
        let c = architecture.classifierChannels
        out["convs.0"] = chw(w.c0, h: p.conv0.shape.outH, w: p.conv0.shape.outW, c: c, cp: p.conv0.shape.outCp)
        out["convs.2"] = chw(w.c1, h: p.pool0.outH, w: p.pool0.outW, c: c, cp: p.pool0.channels)
        out["convs.3"] = chw(w.c3, h: p.conv3.shape.outH, w: p.conv3.shape.outW, c: c, cp: p.conv3.shape.outCp)
        let c5 = chw(w.c4, h: p.pool1.outH, w: p.pool1.outW, c: c, cp: p.pool1.channels)
        out["convs.5"] = c5
        out["flat"] = c5
        out["classification.0"] = vector(w.h0, 50)
        out["classification.1"] = vector(w.h1, 50)
        out["classification.2"] = vector(w.logits, 10)
        out["log_probs"] = vector(w.logProbs, 10)
        return out
    }
}

/// Training throughput of the forward and backward pass alone (no data pipeline, no
/// optimiser): images per second over `iterations` batches after one warm-up batch.
public func benchmarkTraining(architecture: Architecture, batch: Int, threads: Int, iterations: Int) -> Double {
    let network = Network(architecture: architecture, maxBatch: batch, threads: threads)
    network.load(Initializer.pytorchDefault(architecture, seed: 1))
    var random = PRNG(seed: 7)
    let images = (0 ..< batch * 42 * 42).map { _ in random.nextUnitFloat() }
    let labels = (0 ..< batch).map { UInt8($0 % 10) }
    _ = network.forwardBackward(images: images, labels: labels, count: batch)
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0 ..< max(1, iterations) { _ = network.forwardBackward(images: images, labels: labels, count: batch) }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return Double(batch * max(1, iterations)) / seconds
}
