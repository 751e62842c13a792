import STNModel

/// How one image's tensor lies in memory: NHWC, `stride` floats per pixel (the channels,
/// padded to a multiple of 8 where a convolution or linear layer wrote them; padding lanes
/// hold zeros). A vector is one pixel of `stride` lanes.
public struct TensorLayout: Sendable, Equatable {
    public let shape: TensorShape
    public let stride: Int
    /// For a vector made by flatten: the map it came from, whose NHWC order PyTorch's (C, H, W)
    /// flattening maps onto.
    public let flattenedFrom: FlattenSource?

    public struct FlattenSource: Sendable, Equatable {
        public let height: Int, width: Int, channels: Int, stride: Int
    }

    public init(shape: TensorShape, stride: Int, flattenedFrom: FlattenSource? = nil) {
        self.shape = shape
        self.stride = stride
        self.flattenedFrom = flattenedFrom
    }

    /// Floats the tensor occupies.
    public var count: Int {
        if let f = flattenedFrom { return f.height * f.width * f.stride }
        return shape.height * shape.width * stride
    }

    /// Floats its buffer holds: `count` rounded up to 16 (64 bytes), so kernels may read and
    /// write whole vectors past the end.
    public var capacity: Int { (max(count, 1) + 15) & ~15 }

    /// The buffer as pixels of `stride` lanes of which the first `channels` are real: what
    /// elementwise and per-channel steps loop over (a flattened vector keeps its map's lanes).
    public struct Lanes: Sendable, Equatable {
        public let pixels: Int, channels: Int, stride: Int
    }

    public var lanes: Lanes {
        if let f = flattenedFrom { return Lanes(pixels: f.height * f.width, channels: f.channels, stride: f.stride) }
        return Lanes(pixels: shape.height * shape.width, channels: shape.channels, stride: stride)
    }

    /// For each float of the buffer, PyTorch's flat (C, H, W) index, or nil for padding.
    public func torchIndex() -> [Int?] {
        if let f = flattenedFrom {
            return (0 ..< count).map { i in
                let c = i % f.stride
                let s = i / f.stride
                return c < f.channels ? c * f.height * f.width + s : nil
            }
        }
        let pixels = shape.height * shape.width
        return (0 ..< count).map { i in
            let c = i % stride
            let s = i / stride
            return c < shape.channels ? c * pixels + s : nil
        }
    }
}

/// One tensor of a planned model.
public struct PlannedTensor: Sendable {
    public let name: String
    public let layout: TensorLayout
    /// The tensor whose buffer this one shares (flatten; dropout and a folded batch norm at
    /// inference), or its own id.
    public internal(set) var storage: Int
    /// Written by a fused step and never stored (a max pool's output read only by its ReLU).
    public internal(set) var materialised = true
    /// Some parameter lies upstream: the backward pass needs its gradient.
    public internal(set) var requiresGradient = false
}
