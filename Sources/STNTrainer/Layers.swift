import STNKernels
import STNModel

/// A convolution of the model: where its parameters sit in the flat vector, and their
/// packed forms for the kernels (rebuilt from the flat vector before each step).
final class ConvLayer {
    let name: String
    let shape: Conv2DShape
    let realInC: Int
    let weightOffset: Int, biasOffset: Int
    let packed: Floats, packedT: Floats, bias: Floats

    init(_ name: String, _ shape: Conv2DShape, realInC: Int, layout: ParameterLayout) {
        self.name = name
        self.shape = shape
        self.realInC = realInC
        weightOffset = layout.offset(name + ".weight")
        biasOffset = layout.offset(name + ".bias")
        packed = Floats(shape.k * shape.outCp)
        packedT = Floats(shape.outCp * shape.kp)
        bias = Floats(shape.outCp)
    }

    func load(_ parameters: UnsafePointer<Float>) {
        shape.pack(torch: parameters + weightOffset, realInC: realInC, into: packed.pointer)
        shape.transpose(packed: packed.pointer, into: packedT.pointer)
        bias.zero()
        bias.pointer.update(from: parameters + biasOffset, count: shape.outC)
    }

    /// Adds a packed gradient into the flat PyTorch-layout gradient vector.
    func unpackAdding(
        dPacked: UnsafePointer<Float>, dBias: UnsafePointer<Float>, into gradients: UnsafeMutablePointer<Float>
    ) {
        shape.unpackAdding(packed: dPacked, realInC: realInC, into: gradients + weightOffset)
        for o in 0 ..< shape.outC { gradients[biasOffset + o] += dBias[o] }
    }
}

/// A fully connected layer of the model (see ConvLayer).
final class LinearLayer {
    let name: String
    let shape: LinearShape
    let realInputs: Int
    let inputIndex: [Int?]
    let weightOffset: Int, biasOffset: Int
    let packed: Floats, packedT: Floats, bias: Floats

    init(_ name: String, _ shape: LinearShape, realInputs: Int, inputIndex: [Int?], layout: ParameterLayout) {
        self.name = name
        self.shape = shape
        self.realInputs = realInputs
        self.inputIndex = inputIndex
        weightOffset = layout.offset(name + ".weight")
        biasOffset = layout.offset(name + ".bias")
        packed = Floats(shape.inputs * shape.outputsP)
        packedT = Floats(shape.outputsP * shape.inputsP)
        bias = Floats(shape.outputsP)
    }

    func load(_ parameters: UnsafePointer<Float>) {
        shape.pack(
            torch: parameters + weightOffset, realInputs: realInputs, inputIndex: inputIndex, into: packed.pointer,
            transposed: packedT.pointer)
        bias.zero()
        bias.pointer.update(from: parameters + biasOffset, count: shape.outputs)
    }

    func unpackAdding(
        dPacked: UnsafePointer<Float>, dBias: UnsafePointer<Float>, into gradients: UnsafeMutablePointer<Float>
    ) {
        shape.unpackAdding(
            packed: dPacked, realInputs: realInputs, inputIndex: inputIndex, into: gradients + weightOffset)
        for o in 0 ..< shape.outputs { gradients[biasOffset + o] += dBias[o] }
    }
}

/// The model's layers with their shapes, built from the architecture once.
final class ModelPlan {
    let architecture: Architecture
    let side: Int
    // Spatial transformer (ST models only).
    let loc0: ConvLayer?, locPool: PoolReLUShape?, loc3: ConvLayer?, loc6: LinearLayer?, loc8: LinearLayer?
    // Classifier.
    let conv0: ConvLayer, pool0: PoolReLUShape, conv3: ConvLayer, pool1: PoolReLUShape
    let fc0: LinearLayer, fc2: LinearLayer

    var convs: [ConvLayer] { [loc0, loc3].compactMap { $0 } + [conv0, conv3] }
    var linears: [LinearLayer] { [loc6, loc8].compactMap { $0 } + [fc0, fc2] }
    var hasTransformer: Bool { loc0 != nil }

    init(_ architecture: Architecture, layout: ParameterLayout) {
        self.architecture = architecture
        side = architecture.inputSize
        if architecture.hasTransformer {
            let half = side / 2
            let l0 = ConvLayer(
                "localisation_net.0", Conv2DShape(inH: half, inW: half, inC: 1, outC: 20, kernel: 5), realInC: 1,
                layout: layout)
            let pool = PoolReLUShape(inH: l0.shape.outH, inW: l0.shape.outW, channels: l0.shape.outCp)
            let l3 = ConvLayer(
                "localisation_net.3",
                Conv2DShape(inH: pool.outH, inW: pool.outW, inC: pool.channels, outC: 20, kernel: 5),
                realInC: 20, layout: layout)
            let flat = LinearShape.flattenedIndex(
                h: l3.shape.outH, w: l3.shape.outW, channels: 20, channelsP: l3.shape.outCp)
            let l6 = LinearLayer(
                "localisation_net.6", LinearShape(inputs: flat.count, outputs: 20), realInputs: 320, inputIndex: flat,
                layout: layout)
            let l8 = LinearLayer(
                "localisation_net.8", LinearShape(inputs: l6.shape.outputsP, outputs: 6), realInputs: 20,
                inputIndex: (0 ..< l6.shape.outputsP).map { $0 < 20 ? $0 : nil }, layout: layout)
            loc0 = l0
            locPool = pool
            loc3 = l3
            loc6 = l6
            loc8 = l8
        } else {
            loc0 = nil
            locPool = nil
            loc3 = nil
            loc6 = nil
            loc8 = nil
        }
        let channels = architecture.classifierChannels
        conv0 = ConvLayer(
            "convs.0", Conv2DShape(inH: side, inW: side, inC: 1, outC: channels, kernel: 9), realInC: 1, layout: layout)
        pool0 = PoolReLUShape(inH: conv0.shape.outH, inW: conv0.shape.outW, channels: conv0.shape.outCp)
        conv3 = ConvLayer(
            "convs.3", Conv2DShape(inH: pool0.outH, inW: pool0.outW, inC: pool0.channels, outC: channels, kernel: 7),
            realInC: channels, layout: layout)
        pool1 = PoolReLUShape(inH: conv3.shape.outH, inW: conv3.shape.outW, channels: conv3.shape.outCp)
        let flat = LinearShape.flattenedIndex(
            h: pool1.outH, w: pool1.outW, channels: channels, channelsP: pool1.channels)
        fc0 = LinearLayer(
            "classification.0", LinearShape(inputs: flat.count, outputs: 50),
            realInputs: channels * pool1.outH * pool1.outW,
            inputIndex: flat, layout: layout)
        fc2 = LinearLayer(
            "classification.2", LinearShape(inputs: fc0.shape.outputsP, outputs: 10), realInputs: 50,
            inputIndex: (0 ..< fc0.shape.outputsP).map { $0 < 50 ? $0 : nil }, layout: layout)
    }

    func load(_ parameters: UnsafePointer<Float>) {
        for c in convs { c.load(parameters) }
        for l in linears { l.load(parameters) }
    }
}
