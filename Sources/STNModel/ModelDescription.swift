/// A model as a small graph: the input tensor, then layers in execution order, each naming
/// its operation, the tensors it reads and the tensor it writes. The engine and the trainer
/// both run this list; `Architecture` validates it and infers every shape.
///
/// The text form (`docs/model-format.md`) is one layer per line, for example
///
///     stn-model 1 name=st-cnn
///     input image 1x42x42
///     resize downsampled image scale=0.5
///     conv localisation_net.0 downsampled out=20 kernel=5
///
/// and is stored in weight files as the root attribute `model_description`.
public struct ModelDescription: Sendable, Equatable {
    /// The version this build writes and the newest it reads.
    public static let formatVersion = 2

    /// A short name for reports ("st-cnn", "pytorch-tutorial", "custom").
    public var name: String
    /// Name and shape (channels x height x width) of the frame the model reads.
    public var inputName: String
    public var input: TensorShape
    public var layers: [Layer]
    /// Version 2: the input's dims (rank 1 to 4, batch included); every layer is then a
    /// `TensorOperation` on dense row-major tensors and `input` is a vector of their count.
    public var inputDims: [Int]?

    public init(name: String, inputName: String, input: TensorShape, layers: [Layer]) {
        self.name = name
        self.inputName = inputName
        self.input = input
        self.layers = layers
    }

    /// A version-2 description of dense tensors.
    public init(name: String, inputName: String, inputDims: [Int], layers: [Layer]) {
        self.init(name: name, inputName: inputName, input: .vector(inputDims.reduce(1, *)), layers: layers)
        self.inputDims = inputDims
    }

    /// The format version the description needs: 2 for dense tensors, else 1.
    public var version: Int { inputDims == nil ? 1 : 2 }

    /// The tensor the model answers with: the last layer's output.
    public var outputName: String { layers.last?.output ?? inputName }
}

/// Channels x height x width of one image's tensor. A vector of n features is n x 1 x 1.
public struct TensorShape: Sendable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public static func vector(_ features: Int) -> TensorShape { TensorShape(channels: features, height: 1, width: 1) }

    public var count: Int { channels * height * width }
    public var isVector: Bool { height == 1 && width == 1 }
    public var description: String { isVector ? "\(channels)" : "\(channels)x\(height)x\(width)" }
}

/// Height and width of a kernel, stride, padding or output size.
public struct Size2: Sendable, Equatable, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    public init(square: Int) { self.init(square, square) }

    public var description: String { height == width ? "\(height)" : "\(height)x\(width)" }
}

/// One layer: an operation on named input tensors, writing one named output tensor.
public struct Layer: Sendable, Equatable {
    /// The tensor this layer writes (unique in the model).
    public var output: String
    /// The tensors it reads, in the operation's order (grid_sample: image, grid).
    public var inputs: [String]
    public var operation: Operation
    /// The `state_dict` prefix of its parameters (`prefix.weight`, `prefix.bias`, ...);
    /// nil means the output name.
    public var parameterPrefix: String?

    public init(_ output: String, _ operation: Operation, inputs: [String], parameters: String? = nil) {
        self.output = output
        self.inputs = inputs
        self.operation = operation
        parameterPrefix = parameters
    }

    /// Where this layer's parameters live in a `state_dict`.
    public var prefix: String { parameterPrefix ?? output }
}

/// What a layer computes. Parameters follow PyTorch's modules of the same name.
public enum Operation: Sendable, Equatable {
    /// `nn.Conv2d`: zero padding, any kernel and stride, one group.
    case conv(outChannels: Int, kernel: Size2, stride: Size2, padding: Size2, bias: Bool)
    /// `nn.BatchNorm2d` in evaluation mode (running statistics), folded into the convolution
    /// before it when the model is planned.
    case batchNorm(epsilon: Float)
    /// `nn.Conv2d` with `groups` > 1 (depthwise: groups = input channels = output
    /// channels) or dilation; each group's weight is `[out, in / groups, kh, kw]`.
    case groupedConv(
        outChannels: Int, kernel: Size2, stride: Size2, padding: Size2, dilation: Size2, groups: Int, bias: Bool)
    /// `nn.MaxPool2d` / `nn.AvgPool2d`, with PyTorch's padding, ceil mode and count_include_pad.
    case maxPool(Pooling)
    case averagePool(Pooling)
    /// `nn.AdaptiveAvgPool2d(1)` / `nn.AdaptiveMaxPool2d(1)`: each channel's mean or
    /// maximum over the map, a vector of the channels.
    case globalAveragePool
    case globalMaxPool
    case relu
    /// The other elementwise activations (`Activation`).
    case activation(Activation)
    /// `nn.PReLU`: a learned slope for negative values, one for all channels or one per channel.
    case prelu(perChannel: Bool)
    /// The elementwise sum of two tensors of the same shape (a residual connection).
    case add
    /// Channels, rows and columns into one vector, in PyTorch's (C, H, W) order.
    case flatten
    /// `nn.Linear` on a vector.
    case linear(outFeatures: Int, bias: Bool)
    /// `nn.Dropout` (elements) and `nn.Dropout2d` (whole channels): active in training,
    /// the identity at inference.
    case dropout(probability: Float)
    case dropout2d(probability: Float)
    /// Bilinear `F.interpolate` to `size`. With `scale`, PyTorch's `scale_factor` with
    /// `recompute_scale_factor=False`: the output is floor(input * scale) and the source
    /// step is 1 / scale; otherwise the step is input / output.
    case resize(size: Size2, scale: Float?, alignCorners: Bool)
    /// A grid generator: a transform's parameters to a height x width x 2 sampling grid
    /// (`F.affine_grid` for the affine transform; see `TransformKind` for the others).
    case transformGrid(TransformKind, size: Size2, alignCorners: Bool)
    /// `F.grid_sample` of an image at a grid.
    case gridSample(mode: SampleMode, padding: SamplePadding, alignCorners: Bool)
    case softmax
    case logSoftmax
    /// Per-channel (x - mean) / std, as torchvision's `Normalize`.
    case normalize(mean: [Float], std: [Float])
    /// A vector of fixed values (the parameter `PREFIX.value`, never trained): the zeros and
    /// ones a transform's parameters are assembled with.
    case constant(count: Int)
    /// A vector assembled from elements of the vectors it reads: element i is element
    /// `sources[i].element` of input `sources[i].input` (the slices, gathers, concatenations
    /// and transposes that build theta from a localisation net's outputs).
    case select(sources: [ElementSource])
    /// A map assembled from whole channels of the maps it reads, all of one height and width:
    /// output channel i is channel `sources[i].element` of input `sources[i].input` (one
    /// channel of a map, the channels of several maps concatenated). The text form is
    /// `select` with `channels=` instead of `elements=`.
    case selectChannels(sources: [ElementSource])
    /// x * scale + shift per element of a vector, by fixed vectors `PREFIX.scale` and
    /// `PREFIX.shift` (arithmetic with constants; never trained).
    case mulAdd
    /// cos or sin of each element of a vector (a rotation's matrix from its angle).
    case cosine, sine
    /// A vector of H * W * 2 values read as a sampling grid [H, W, 2] (a grid a model computes
    /// itself, such as a thin-plate spline's from its fiducial points).
    case gridView(size: Size2)
    /// A vector read as the matrix [K, N] and multiplied from the left by the fixed matrix
    /// `PREFIX.matrix` [M, K] (never trained): a [M, N] vector (a TPS grid from its points).
    case matrixProduct(rows: Int, inner: Int)
    /// Version 2: an operation on dense tensors (`TensorOperation`).
    case tensor(TensorOperation)

    /// The keyword that names the operation in the text form.
    public var keyword: String {
        switch self {
        case .conv: return "conv"
        case .batchNorm: return "batchnorm"
        case .groupedConv: return "conv"
        case .maxPool: return "maxpool"
        case .averagePool: return "avgpool"
        case .globalAveragePool: return "global_avgpool"
        case .globalMaxPool: return "global_maxpool"
        case .relu: return "relu"
        case .activation(let activation): return activation.keyword
        case .prelu: return "prelu"
        case .add: return "add"
        case .flatten: return "flatten"
        case .linear: return "linear"
        case .dropout: return "dropout"
        case .dropout2d: return "dropout2d"
        case .resize: return "resize"
        case .transformGrid(let kind, _, _): return kind.keyword
        case .gridSample: return "grid_sample"
        case .softmax: return "softmax"
        case .logSoftmax: return "log_softmax"
        case .normalize: return "normalize"
        case .constant: return "constant"
        case .select, .selectChannels: return "select"
        case .mulAdd: return "mul_add"
        case .cosine: return "cos"
        case .sine: return "sin"
        case .gridView: return "grid"
        case .matrixProduct: return "matmul"
        case .tensor(let operation): return operation.keyword
        }
    }

    /// How many tensors the operation reads.
    public var inputCount: Int {
        if case .gridSample = self { return 2 }
        if case .add = self { return 2 }
        if case .tensor(let operation) = self { return operation.inputCounts.lowerBound }
        return 1
    }

    /// How many tensors the operation may read.
    public var inputCounts: ClosedRange<Int> {
        if case .tensor(let operation) = self { return operation.inputCounts }
        if case .constant = self { return 0 ... 0 }
        if case .select(let sources) = self { return 1 ... max(1, (sources.map(\.input).max() ?? 0) + 1) }
        if case .selectChannels(let sources) = self { return 1 ... max(1, (sources.map(\.input).max() ?? 0) + 1) }
        return inputCount ... inputCount
    }

    /// `inputCounts` for messages: "2", or "2 to 3".
    var inputCountText: String {
        let counts = inputCounts
        return counts.count == 1 ? "\(counts.lowerBound)" : "\(counts.lowerBound) to \(counts.upperBound)"
    }
}

/// Where one element of a `select` comes from: which of the layer's inputs, which element.
public struct ElementSource: Sendable, Equatable {
    public var input: Int
    public var element: Int
    public init(input: Int, element: Int) {
        self.input = input
        self.element = element
    }
}

/// Window, stride and padding of a pooling layer, as PyTorch's `nn.MaxPool2d` and
/// `nn.AvgPool2d` take them.
public struct Pooling: Sendable, Equatable {
    public var kernel: Size2
    public var stride: Size2
    /// Zeros (average) or nothing (max) added on each side; at most half the window.
    public var padding: Size2
    /// Output size rounded up: a last window may start in the input or its leading padding.
    public var ceil: Bool
    /// Average pooling divides by the whole window inside the padded input (PyTorch's
    /// default) rather than by the values inside the input.
    public var countIncludePad: Bool

    public init(
        kernel: Size2, stride: Size2? = nil, padding: Size2 = Size2(square: 0), ceil: Bool = false,
        countIncludePad: Bool = true
    ) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
        self.ceil = ceil
        self.countIncludePad = countIncludePad
    }

    /// No padding and floor mode: what version 1 of the format describes.
    public var isPlain: Bool { padding == Size2(square: 0) && !ceil }

    /// Output extent along one axis (PyTorch's rule: a window must start inside the input
    /// or its leading padding), or nil when the window does not fit.
    public func outputExtent(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int? {
        let span = size + 2 * padding - kernel
        guard span >= 0, stride >= 1 else { return nil }
        var out = (self.ceil ? (span + stride - 1) / stride : span / stride) + 1
        if self.ceil, (out - 1) * stride >= size + padding { out -= 1 }
        return out
    }
}

/// Elementwise activations, each PyTorch's module of the same name.
public enum Activation: Sendable, Equatable {
    /// `nn.LeakyReLU`: x, or slope * x below zero.
    case leakyReLU(slope: Float)
    /// `nn.ELU`: x, or alpha * (exp(x) - 1) below zero.
    case elu(alpha: Float)
    case tanh
    case sigmoid
    /// `nn.SiLU`: x * sigmoid(x).
    case silu
    /// `nn.Hardtanh` / `nn.ReLU6` (min 0, max 6): x clamped to [min, max].
    case clip(min: Float, max: Float)
    /// max(0, min(1, alpha * x + beta)); `nn.Hardsigmoid` is alpha 1/6, beta 1/2.
    case hardSigmoid(alpha: Float, beta: Float)
    /// `nn.Hardswish`: x * hardSigmoid(x) with alpha 1/6, beta 1/2.
    case hardSwish
    /// `nn.GELU` (the exact, erf form).
    case gelu

    public var keyword: String {
        switch self {
        case .leakyReLU: return "leaky_relu"
        case .elu: return "elu"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .silu: return "silu"
        case .clip: return "clip"
        case .hardSigmoid: return "hardsigmoid"
        case .hardSwish: return "hardswish"
        case .gelu: return "gelu"
        }
    }

    public static let keywords = [
        "leaky_relu", "elu", "tanh", "sigmoid", "silu", "clip", "relu6", "hardsigmoid", "hardswish", "gelu",
    ]
}

/// The transforms a grid generator computes, by their parameters (Jaderberg et al. 2015).
public enum TransformKind: String, Sendable, Equatable, CaseIterable {
    /// Isotropic scale and translation: (s, tx, ty), the affine [[s, 0, tx], [0, s, ty]].
    case attention
    /// A 2 x 3 matrix, row-major: `F.affine_grid`.
    case affine
    /// A 3 x 3 homography with its last entry 1: (p0 ... p7), dividing by the third
    /// homogeneous coordinate (kept at least 1e-3 from zero).
    case projective
    /// A thin-plate spline through 16 control points on a 4 x 4 grid: their 16 target
    /// points, (x, y) interleaved, row-major from the top left.
    case tps

    /// Parameters per transform.
    public var parameterCount: Int {
        switch self {
        case .attention: return 3
        case .affine: return 6
        case .projective: return 8
        case .tps: return 32
        }
    }

    /// The parameters of the identity transform (where the localisation net starts).
    public var identity: [Float] {
        switch self {
        case .attention: return [1, 0, 0]
        case .affine: return [1, 0, 0, 0, 1, 0]
        case .projective: return [1, 0, 0, 0, 1, 0, 0, 0]
        case .tps:
            let points: [Float] = [-1, -1.0 / 3, 1.0 / 3, 1]
            return points.flatMap { y in points.flatMap { x in [x, y] } }
        }
    }

    /// The description's keyword for the grid generator.
    public var keyword: String { rawValue + "_grid" }
}

public enum SampleMode: String, Sendable, Equatable {
    case bilinear
    case nearest
}

public enum SamplePadding: String, Sendable, Equatable {
    case zeros
    case border
}
