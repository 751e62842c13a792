import STNKernels

/// One thread's buffers: every activation of one image, its gradients, and this thread's
/// gradient accumulators (packed layouts) for the batch. Planned once at Network init.
final class Workspace {
    let plan: ModelPlan
    let pixels: Int
    // Transformer activations.
    let downsampled: Floats, l0: Floats, l1: Floats, l1Arg: Buffer<Int32>, l3: Floats, l4: Floats
    let f6: Floats, f7: Floats, theta: Floats, grid: Floats, sampled: Floats
    // Classifier activations.
    let c0: Floats, c1: Floats, c1Arg: Buffer<Int32>, c3: Floats, c4: Floats, c4Arg: Buffer<Int32>
    let h0: Floats, h1: Floats, logits: Floats, logProbs: Floats
    // Gradients of activations (reused layer to layer where sizes allow).
    let dLogits: Floats, dH: Floats, dC4: Floats, dC3: Floats, dC1: Floats, dC0: Floats
    let dSampled: Floats, dGrid: Floats, dTheta: Floats, dF: Floats, dL4: Floats, dL1: Floats, dL0: Floats
    let scratch: Floats
    // Gradient accumulators, one pair per layer, in plan.convs / plan.linears order.
    let convGrads: [(packed: Floats, bias: Floats)]
    let linearGrads: [(packed: Floats, bias: Floats)]

    init(plan: ModelPlan) {
        self.plan = plan
        pixels = plan.side * plan.side
        if let loc0 = plan.loc0, let pool = plan.locPool, let loc3 = plan.loc3, let loc6 = plan.loc6,
            let loc8 = plan.loc8
        {
            downsampled = Floats(loc0.shape.inputCount)
            l0 = Floats(loc0.shape.outputCount)
            l1 = Floats(pool.outputCount)
            l1Arg = Buffer(pool.outputCount, zero: 0)
            l3 = Floats(loc3.shape.outputCount)
            l4 = Floats(loc3.shape.outputCount)
            f6 = Floats(loc6.shape.outputsP)
            f7 = Floats(loc6.shape.outputsP)
            theta = Floats(loc8.shape.outputsP)
            dL4 = Floats(loc6.shape.inputsP)
            dL1 = Floats(pool.outputCount)
            dL0 = Floats(loc0.shape.outputCount)
            dF = Floats(max(loc8.shape.inputsP, loc6.shape.outputsP))
            dTheta = Floats(loc8.shape.outputsP)
        } else {
            downsampled = Floats(1)
            l0 = Floats(1)
            l1 = Floats(1)
            l1Arg = Buffer(1, zero: 0)
            l3 = Floats(1)
            l4 = Floats(1)
            f6 = Floats(1)
            f7 = Floats(1)
            theta = Floats(8)
            dL4 = Floats(1)
            dL1 = Floats(1)
            dL0 = Floats(1)
            dF = Floats(1)
            dTheta = Floats(8)
        }
        grid = Floats(pixels * 2)
        sampled = Floats(pixels)
        dSampled = Floats(pixels)
        dGrid = Floats(pixels * 2)
        c0 = Floats(plan.conv0.shape.outputCount)
        c1 = Floats(plan.pool0.outputCount)
        c1Arg = Buffer(plan.pool0.outputCount, zero: 0)
        c3 = Floats(plan.conv3.shape.outputCount)
        c4 = Floats(plan.pool1.outputCount)
        c4Arg = Buffer(plan.pool1.outputCount, zero: 0)
        h0 = Floats(plan.fc0.shape.outputsP)
        h1 = Floats(plan.fc0.shape.outputsP)
        logits = Floats(plan.fc2.shape.outputsP)
        logProbs = Floats(plan.fc2.shape.outputsP)
        dLogits = Floats(plan.fc2.shape.outputsP)
        dH = Floats(max(plan.fc2.shape.inputsP, plan.fc0.shape.outputsP))
        dC4 = Floats(plan.fc0.shape.inputsP)
        dC3 = Floats(plan.conv3.shape.outputCount)
        dC1 = Floats(plan.pool0.outputCount)
        dC0 = Floats(plan.conv0.shape.outputCount)
        let scratchCount = plan.convs.map { $0.shape.positions * $0.shape.kp }.max() ?? 1
        scratch = Floats(scratchCount)
        convGrads = plan.convs.map { (Floats($0.shape.k * $0.shape.outCp), Floats($0.shape.outCp)) }
        linearGrads = plan.linears.map { (Floats($0.shape.inputs * $0.shape.outputsP), Floats($0.shape.outputsP)) }
    }

    func zeroGradients() {
        for g in convGrads {
            g.packed.zero()
            g.bias.zero()
        }
        for g in linearGrads {
            g.packed.zero()
            g.bias.zero()
        }
    }

    /// Forward pass of one 42x42 image; leaves every activation in place. Returns the
    /// predicted digit.
    @discardableResult
    func forward(_ image: UnsafePointer<Float>) -> Int {
        let side = plan.side
        var classifierInput = image
        if let loc0 = plan.loc0, let pool = plan.locPool, let loc3 = plan.loc3, let loc6 = plan.loc6,
            let loc8 = plan.loc8
        {
            Transformer.downsample(image, height: side, width: side, into: downsampled.pointer)
            loc0.shape.forward(
                input: downsampled.pointer, packed: loc0.packed.pointer, bias: loc0.bias.pointer, output: l0.pointer)
            pool.forward(input: l0.pointer, output: l1.pointer, argmax: l1Arg.pointer)
            loc3.shape.forward(
                input: l1.pointer, packed: loc3.packed.pointer, bias: loc3.bias.pointer, output: l3.pointer)
            relu(l3.pointer, into: l4.pointer, count: loc3.shape.outputCount)
            loc6.shape.forward(
                input: l4.pointer, packed: loc6.packed.pointer, bias: loc6.bias.pointer, output: f6.pointer)
            relu(f6.pointer, into: f7.pointer, count: loc6.shape.outputsP)
            loc8.shape.forward(
                input: f7.pointer, packed: loc8.packed.pointer, bias: loc8.bias.pointer, output: theta.pointer)
            Transformer.affineGrid(theta: theta.pointer, height: side, width: side, into: grid.pointer)
            Transformer.sample(
                image, height: side, width: side, grid: grid.pointer, count: pixels, into: sampled.pointer)
            classifierInput = UnsafePointer(sampled.pointer)
        }
        let p = plan
        p.conv0.shape.forward(
            input: classifierInput, packed: p.conv0.packed.pointer, bias: p.conv0.bias.pointer, output: c0.pointer)
        p.pool0.forward(input: c0.pointer, output: c1.pointer, argmax: c1Arg.pointer)
        p.conv3.shape.forward(
            input: c1.pointer, packed: p.conv3.packed.pointer, bias: p.conv3.bias.pointer, output: c3.pointer)
        p.pool1.forward(input: c3.pointer, output: c4.pointer, argmax: c4Arg.pointer)
        p.fc0.shape.forward(
            input: c4.pointer, packed: p.fc0.packed.pointer, bias: p.fc0.bias.pointer, output: h0.pointer)
        relu(h0.pointer, into: h1.pointer, count: p.fc0.shape.outputsP)
        p.fc2.shape.forward(
            input: h1.pointer, packed: p.fc2.packed.pointer, bias: p.fc2.bias.pointer, output: logits.pointer)
        return LogSoftmax.forward(logits.pointer, count: 10, into: logProbs.pointer)
    }

    /// Backward pass after `forward(image)`: accumulates scale * d NLL(label) / d parameters
    /// into this workspace's accumulators (with `smoothing`, of the label-smoothed loss).
    func backward(_ image: UnsafePointer<Float>, label: Int, scale: Float, smoothing: Float = 0) {
        let p = plan
        let side = plan.side
        dLogits.zero()
        LogSoftmax.backward(
            logProbs: logProbs.pointer, count: 10, label: label, scale: scale, smoothing: smoothing,
            dLogits: dLogits.pointer)
        let nc = p.convs.count
        let nl = p.linears.count
        // classification.2
        p.fc2.shape.backwardWeights(
            input: h1.pointer, dOutput: dLogits.pointer, dPacked: linearGrads[nl - 1].packed.pointer,
            dBias: linearGrads[nl - 1].bias.pointer)
        p.fc2.shape.backwardInput(dOutput: dLogits.pointer, packedT: p.fc2.packedT.pointer, dInput: dH.pointer)
        ReLU.backward(output: h1.pointer, gradient: dH.pointer, count: p.fc0.shape.outputsP)
        // classification.0
        p.fc0.shape.backwardWeights(
            input: c4.pointer, dOutput: dH.pointer, dPacked: linearGrads[nl - 2].packed.pointer,
            dBias: linearGrads[nl - 2].bias.pointer)
        p.fc0.shape.backwardInput(dOutput: dH.pointer, packedT: p.fc0.packedT.pointer, dInput: dC4.pointer)
        // convs.4-5, convs.3
        p.pool1.backward(dOutput: dC4.pointer, output: c4.pointer, argmax: c4Arg.pointer, dInput: dC3.pointer)
        p.conv3.shape.backwardWeights(
            input: c1.pointer, dOutput: dC3.pointer, dPacked: convGrads[nc - 1].packed.pointer,
            dBias: convGrads[nc - 1].bias.pointer)
        p.conv3.shape.backwardInput(
            dOutput: dC3.pointer, packedT: p.conv3.packedT.pointer, scratch: scratch.pointer, dInput: dC1.pointer)
        // convs.1-2, convs.0
        p.pool0.backward(dOutput: dC1.pointer, output: c1.pointer, argmax: c1Arg.pointer, dInput: dC0.pointer)
        let classifierInput = p.hasTransformer ? UnsafePointer(sampled.pointer) : image
        p.conv0.shape.backwardWeights(
            input: classifierInput, dOutput: dC0.pointer, dPacked: convGrads[nc - 2].packed.pointer,
            dBias: convGrads[nc - 2].bias.pointer)
        guard let loc0 = p.loc0, let pool = p.locPool, let loc3 = p.loc3, let loc6 = p.loc6, let loc8 = p.loc8 else {
            return
        }

        // The transformer: sampled image -> grid -> theta -> localisation net.
        p.conv0.shape.backwardInput(
            dOutput: dC0.pointer, packedT: p.conv0.packedT.pointer, scratch: scratch.pointer, dInput: dSampled.pointer)
        Transformer.sampleBackward(
            image, height: side, width: side, grid: grid.pointer, count: pixels, dOutput: dSampled.pointer,
            dGrid: dGrid.pointer, dInput: nil)
        dTheta.zero()
        Transformer.affineGridBackward(dGrid: dGrid.pointer, height: side, width: side, dTheta: dTheta.pointer)
        loc8.shape.backwardWeights(
            input: f7.pointer, dOutput: dTheta.pointer, dPacked: linearGrads[1].packed.pointer,
            dBias: linearGrads[1].bias.pointer)
        loc8.shape.backwardInput(dOutput: dTheta.pointer, packedT: loc8.packedT.pointer, dInput: dF.pointer)
        ReLU.backward(output: f7.pointer, gradient: dF.pointer, count: loc6.shape.outputsP)
        loc6.shape.backwardWeights(
            input: l4.pointer, dOutput: dF.pointer, dPacked: linearGrads[0].packed.pointer,
            dBias: linearGrads[0].bias.pointer)
        loc6.shape.backwardInput(dOutput: dF.pointer, packedT: loc6.packedT.pointer, dInput: dL4.pointer)
        ReLU.backward(output: l4.pointer, gradient: dL4.pointer, count: loc3.shape.outputCount)
        loc3.shape.backwardWeights(
            input: l1.pointer, dOutput: dL4.pointer, dPacked: convGrads[1].packed.pointer,
            dBias: convGrads[1].bias.pointer)
        loc3.shape.backwardInput(
            dOutput: dL4.pointer, packedT: loc3.packedT.pointer, scratch: scratch.pointer, dInput: dL1.pointer)
        pool.backward(dOutput: dL1.pointer, output: l1.pointer, argmax: l1Arg.pointer, dInput: dL0.pointer)
        loc0.shape.backwardWeights(
            input: downsampled.pointer, dOutput: dL0.pointer, dPacked: convGrads[0].packed.pointer,
            dBias: convGrads[0].bias.pointer)
    }

    @inline(__always)
    private func relu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0 ..< count { y[i] = max(x[i], 0) }
    }
}
