/// The two models of the seed (Jaderberg et al. 2015 on RTS MNIST), declared once and
/// shared by the trainer and the engine.
public enum ModelKind: String, CaseIterable, Sendable {
    /// Plain CNN: two conv+pool+ReLU blocks, then two fully connected layers.
    case cnn = "cnn"
    /// ST-CNN Affine: a spatial transformer (localisation net, affine grid, bilinear
    /// sampler) in front of a 32-channel version of the CNN.
    case stCNN = "st-cnn"
}

/// One learnable tensor, named and shaped as the seed's PyTorch `state_dict` entry
/// (conv `[out, in, kh, kw]`, linear `[out, in]`, bias `[out]`).
public struct ParameterSpec: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    /// Inputs feeding one output unit: PyTorch's default initialisation draws from
    /// uniform(+-1/sqrt(fanIn)) (kaiming-uniform with a = sqrt(5) gives the same bound).
    public let fanIn: Int
    public var count: Int { shape.reduce(1, *) }
    public var isBias: Bool { shape.count == 1 }
}

/// One step of the forward pass, as the seed's `nn.Sequential` indices name it.
public struct LayerSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Bilinear downsample by 2 (`F.interpolate(scale_factor=0.5, align_corners=False)`).
        case downsample
        /// Valid convolution, stride 1, square kernel.
        case conv(inChannels: Int, outChannels: Int, kernel: Int)
        /// 2x2 max pooling, stride 2, floor.
        case maxPool
        case relu
        case flatten
        case linear(inputs: Int, outputs: Int)
        /// theta (2x3) -> sampling grid (`F.affine_grid`, align_corners=False).
        case affineGrid
        /// Bilinear sampling of the full input with zero padding (`F.grid_sample`).
        case gridSample
        case logSoftmax
    }
    /// `state_dict` prefix for layers with parameters (e.g. "convs.0"); a descriptive
    /// name otherwise.
    public let name: String
    public let kind: Kind
    /// Output shape for one image: [channels, height, width] or [features].
    public let outputShape: [Int]
    /// Parameters this layer owns (weight, bias).
    public let parameters: [ParameterSpec]
}

/// A model architecture: its layers in execution order and its parameters.
public struct Architecture: Sendable, Equatable {
    public let kind: ModelKind
    /// Side of the square single-channel input frame.
    public let inputSize: Int
    /// The localisation net's layers (empty for the plain CNN), run on the downsampled input.
    public let localisation: [LayerSpec]
    /// Downsample, localisation, grid, sampler (ST models only): the spatial transformer.
    public let transformer: [LayerSpec]
    /// The classifier: convolutions, pooling, fully connected layers, log-softmax.
    public let classifier: [LayerSpec]

    public var hasTransformer: Bool { !transformer.isEmpty }
    /// Every layer in execution order.
    public var layers: [LayerSpec] { transformer + classifier }
    /// Every parameter, in `state_dict` order.
    public var parameters: [ParameterSpec] { layers.flatMap(\.parameters) }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    /// Channels of the classifier's convolutions (36 for the CNN, 32 for the ST-CNN).
    public var classifierChannels: Int {
        for layer in classifier { if case .conv(_, let out, _) = layer.kind { return out } }
        return 0
    }
    public static let numberOfClasses = 10

    public static let cnn = Architecture(kind: .cnn, channels: 36)
    public static let stCNN = Architecture(kind: .stCNN, channels: 32)

    public static func named(_ name: String) -> Architecture? {
        switch ModelKind(rawValue: name) {
        case .cnn: return .cnn
        case .stCNN: return .stCNN
        case nil: return nil
        }
    }

    public static func of(_ kind: ModelKind) -> Architecture { kind == .cnn ? .cnn : .stCNN }

    public func parameter(_ name: String) -> ParameterSpec? { parameters.first { $0.name == name } }

    private init(kind: ModelKind, channels: Int) {
        self.kind = kind
        inputSize = 42
        var builder = Builder()
        if kind == .stCNN {
            // The localisation net sees the input downsampled 42 -> 21.
            builder.shape = [1, inputSize, inputSize]
            builder.add("downsample", .downsample)
            let downsample = builder.layers
            builder.layers = []
            builder.conv("localisation_net.0", 20, kernel: 5)  // 21 -> 17
            builder.add("localisation_net.1", .maxPool)  // 17 -> 8
            builder.add("localisation_net.2", .relu)
            builder.conv("localisation_net.3", 20, kernel: 5)  // 8 -> 4
            builder.add("localisation_net.4", .relu)
            builder.add("localisation_net.5", .flatten)  // 320
            builder.linear("localisation_net.6", 20)
            builder.add("localisation_net.7", .relu)
            builder.linear("localisation_net.8", 6)  // theta, 2x3
            localisation = builder.layers
            builder.layers = []
            builder.shape = [2, 3]
            builder.add("affine_grid", .affineGrid, shape: [inputSize, inputSize, 2])
            builder.add("grid_sample", .gridSample, shape: [1, inputSize, inputSize])
            transformer = downsample + localisation + builder.layers
        } else {
            localisation = []
            transformer = []
        }
        builder.layers = []
        builder.shape = [1, inputSize, inputSize]
        builder.conv("convs.0", channels, kernel: 9)  // 42 -> 34
        builder.add("convs.1", .maxPool)  // 34 -> 17
        builder.add("convs.2", .relu)
        builder.conv("convs.3", channels, kernel: 7)  // 17 -> 11
        builder.add("convs.4", .maxPool)  // 11 -> 5
        builder.add("convs.5", .relu)
        builder.add("flatten", .flatten)  // channels * 25
        builder.linear("classification.0", 50)
        builder.add("classification.1", .relu)
        builder.linear("classification.2", Architecture.numberOfClasses)
        builder.add("log_softmax", .logSoftmax)
        classifier = builder.layers
    }

    /// Tracks the running output shape while layers are declared.
    private struct Builder {
        var layers: [LayerSpec] = []
        var shape: [Int] = []

        mutating func add(
            _ name: String, _ kind: LayerSpec.Kind, shape explicit: [Int]? = nil, parameters: [ParameterSpec] = []
        ) {
            switch kind {
            case .downsample: shape = [shape[0], shape[1] / 2, shape[2] / 2]
            case .conv(_, let out, let k): shape = [out, shape[1] - k + 1, shape[2] - k + 1]
            case .maxPool: shape = [shape[0], shape[1] / 2, shape[2] / 2]
            case .flatten: shape = [shape.reduce(1, *)]
            case .linear(_, let outputs): shape = [outputs]
            case .relu, .logSoftmax, .affineGrid, .gridSample: break
            }
            if let explicit { shape = explicit }
            layers.append(LayerSpec(name: name, kind: kind, outputShape: shape, parameters: parameters))
        }

        mutating func conv(_ name: String, _ out: Int, kernel: Int) {
            let inChannels = shape[0]
            let fanIn = inChannels * kernel * kernel
            add(
                name, .conv(inChannels: inChannels, outChannels: out, kernel: kernel),
                parameters: [
                    ParameterSpec(name: name + ".weight", shape: [out, inChannels, kernel, kernel], fanIn: fanIn),
                    ParameterSpec(name: name + ".bias", shape: [out], fanIn: fanIn),
                ])
        }

        mutating func linear(_ name: String, _ out: Int) {
            let inputs = shape[0]
            add(
                name, .linear(inputs: inputs, outputs: out),
                parameters: [
                    ParameterSpec(name: name + ".weight", shape: [out, inputs], fanIn: inputs),
                    ParameterSpec(name: name + ".bias", shape: [out], fanIn: inputs),
                ])
        }
    }
}

extension Architecture {
    /// The layer table `stn-train --summary` prints: name, kind, output shape, parameters.
    public func summary() -> String {
        func describe(_ kind: LayerSpec.Kind) -> String {
            switch kind {
            case .downsample: return "Downsample x0.5 (bilinear)"
            case .conv(let i, let o, let k): return "Conv2d(\(i), \(o), \(k))"
            case .maxPool: return "MaxPool2d(2)"
            case .relu: return "ReLU"
            case .flatten: return "Flatten"
            case .linear(let i, let o): return "Linear(\(i), \(o))"
            case .affineGrid: return "AffineGrid (theta 2x3)"
            case .gridSample: return "GridSample (bilinear, zeros)"
            case .logSoftmax: return "LogSoftmax"
            }
        }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func padLeft(_ s: String, _ n: Int) -> String {
            s.count >= n ? s : String(repeating: " ", count: n - s.count) + s
        }
        var lines = ["\(kind.rawValue): input 1x\(inputSize)x\(inputSize)"]
        lines.append(pad("layer", 22) + pad("kind", 30) + pad("output", 14) + padLeft("params", 8))
        for layer in layers {
            let params = layer.parameters.reduce(0) { $0 + $1.count }
            let shape = layer.outputShape.map(String.init).joined(separator: "x")
            lines.append(
                pad(layer.name, 22) + pad(describe(layer.kind), 30) + pad(shape, 14)
                    + padLeft(params == 0 ? "-" : grouped(params), 8))
        }
        lines.append("total parameters: \(grouped(parameterCount))")
        return lines.joined(separator: "\n")
    }
}

/// 110478 -> "110,478".
func grouped(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}
