import STNImage

/// How a stored image becomes a frame of the model's input (rows x columns x channels
/// floats): its channels converted, its size fitted, each 8-bit sample scaled by 1/255 as
/// the engine scales its 8-bit input, each float sample (a float32 IDX file's) taken as it
/// is (the model's own normalize layer does the rest). stn-train and stn-infer both use it.
///
/// Channels: images whose colours match the model's channels are used as they are (alpha
/// composited over black). Grey into an RGB model and RGB into a grey model are conversions
/// the user asks for (`color`): grey repeated in R, G and B, or RGB to grey by luminance
/// (Pillow's `convert("L")`, as stn-infer does). Nothing else converts.
///
/// Size: an image of the model's size is used as it is; otherwise `fit` decides: `resize`
/// scales it bilinearly to the model's size (PyTorch's `F.interpolate(mode="bilinear",
/// align_corners=False)` without antialiasing, on the scaled samples), `pad` centres it on a
/// zero canvas (left and top offsets rounded down, as stn-infer centres a 28x28 digit on a
/// 42x42 canvas) and refuses one larger than the model's size, `refuse` refuses it (but
/// for stn-infer's 28x28 digits on a 42x42 model, `centresDigits`).
public struct FrameFitting: Sendable, Equatable {
    public enum Fit: String, Sendable, CaseIterable {
        case refuse, pad, resize
    }

    /// The channel conversion asked for.
    public enum Color: String, Sendable, CaseIterable {
        /// Colour images become grey by luminance, for a 1-channel model.
        case grey
        /// Grey images become RGB (grey repeated), for a 3-channel model.
        case rgb
    }

    /// The model's frame.
    public var rows: Int
    public var columns: Int
    public var channels: Int
    public var fit: Fit
    public var color: Color?
    /// Grey images fill every channel of a model of any channel count, unasked: MNIST's
    /// digits for a model of several channels, as stn-train has always given them.
    public var repeatsGrey = false
    /// A 28x28 image is centred on a 42x42 model's canvas under `refuse` too: stn-infer's
    /// rule for MNIST digits on the RTS models (where an undistorted RTS digit sits).
    public var centresDigits = false

    public init(rows: Int, columns: Int, channels: Int, fit: Fit = .refuse, color: Color? = nil) {
        self.rows = rows
        self.columns = columns
        self.channels = channels
        self.fit = fit
        self.color = color
    }

    /// Floats in one frame.
    public var frameCount: Int { rows * columns * channels }

    /// The model's size for messages, width x height as for image files.
    var modelSize: String { "\(columns)x\(rows)" }

    /// Why `color` cannot serve this model (nil when it can, or none was asked for).
    public var colorProblem: String? {
        switch color {
        case .grey where channels != 1:
            return "--color grey makes 1-channel frames, the model takes \(channels) channels"
        case .rgb where channels != 3:
            return "--color rgb makes 3-channel frames, the model takes \(channels) channel\(channels == 1 ? "" : "s")"
        default: return nil
        }
    }

    /// What `layout`'s colour channels become, or nil when they do not convert.
    enum ChannelMapping { case same, repeatGrey, luminance }

    func mapping(_ layout: ImageLayout) -> ChannelMapping? {
        let colours = layout.colours
        if colours == channels { return .same }
        if colours == 1 && (repeatsGrey || (color == .rgb && channels == 3)) { return .repeatGrey }
        if colours == 3 && channels == 1 && color == .grey { return .luminance }
        return nil
    }

    /// Why an image of `layout` cannot become a frame (one phrase, for "FILE: PROBLEM"), or nil.
    public func problem(_ layout: ImageLayout) -> String? {
        channelProblem(layout) ?? sizeProblem(rows: layout.rows, columns: layout.columns)
    }

    /// Why an image of `layout`'s channels cannot become a frame, or nil.
    public func channelProblem(_ layout: ImageLayout) -> String? {
        guard mapping(layout) == nil else { return nil }
        let colours = layout.colours
        if colours == 1 && channels == 3 {
            return "a grey image for a model of 3 channels: pass --color rgb to repeat grey in R, G and B"
        }
        if colours == 3 && channels == 1 {
            return "an RGB image for a 1-channel model: pass --color grey to convert it by luminance"
        }
        return
            "a \(layout.kind) image (\(colours) colour channel\(colours == 1 ? "" : "s")) cannot feed a model of \(channels) channel\(channels == 1 ? "" : "s")"
    }

    /// Why an image of `rows` x `columns` cannot become a frame, or nil (known from an image
    /// file's header, before its pixels are decoded).
    public func sizeProblem(rows: Int, columns: Int) -> String? {
        if rows == self.rows && columns == self.columns { return nil }
        if centresDigit(rows: rows, columns: columns) { return nil }
        let size = "\(columns)x\(rows) (width x height)"
        switch fit {
        case .resize:
            return nil
        case .pad where rows <= self.rows && columns <= self.columns:
            return nil
        case .pad:
            return
                "image is \(size), larger than the model's \(modelSize): --fit pad only adds borders; pass --fit resize"
        case .refuse:
            let digits = centresDigits && self.rows == 42 && self.columns == 42 ? " (or 28x28, centred)" : ""
            return "image is \(size), the model takes \(modelSize)\(digits); pass --fit resize or --fit pad"
        }
    }

    /// Whether a 28x28 image is centred on the 42x42 model's canvas although `fit` is refuse.
    private func centresDigit(rows: Int, columns: Int) -> Bool {
        centresDigits && fit == .refuse && rows == 28 && columns == 28 && self.rows == 42 && self.columns == 42
    }

    /// Writes the frame of an image of `layout` (checked by `problem`) whose 8-bit samples are
    /// at `samples`, into `frame` (`frameCount` floats), using `scratch` for the conversion.
    public func frame(
        _ samples: UnsafePointer<UInt8>, layout: ImageLayout, into frame: UnsafeMutablePointer<Float>,
        scratch: ImageScratch
    ) {
        fitted(samples, layout: layout, into: frame, scratch: scratch)
    }

    /// `frame` for float samples (a float32 IDX file's): the values are the model's input as
    /// they are, not scaled.
    public func frame(
        floats samples: UnsafePointer<Float>, layout: ImageLayout, into frame: UnsafeMutablePointer<Float>,
        scratch: ImageScratch
    ) {
        fitted(samples, layout: layout, into: frame, scratch: scratch)
    }

    /// Converts the channels (into `scratch`) when they need it, then places the samples.
    private func fitted<Sample: FrameSample>(
        _ samples: UnsafePointer<Sample>, layout: ImageLayout, into frame: UnsafeMutablePointer<Float>,
        scratch: ImageScratch
    ) {
        let c = channels
        let pixelCount = layout.rows * layout.columns
        let mapping = mapping(layout) ?? .same
        if mapping == .same && !layout.alpha {
            place(samples, layout: layout, into: frame)
            return
        }
        let out = scratch.conversion(pixelCount * c, of: Sample.self)
        let stride = layout.channels
        let colours = layout.colours
        for p in 0 ..< pixelCount {
            let pixel = samples + p * stride
            @inline(__always) func colour(_ k: Int) -> Sample {
                layout.alpha ? pixel[k].composited(alpha: pixel[colours]) : pixel[k]
            }
            switch mapping {
            case .same: for k in 0 ..< c { out[p * c + k] = colour(k) }
            case .repeatGrey:
                let v = colour(0)
                for k in 0 ..< c { out[p * c + k] = v }
            case .luminance: out[p] = Sample.luma(colour(0), colour(1), colour(2))
            }
        }
        place(out, layout: ImageLayout(rows: layout.rows, columns: layout.columns, channels: c), into: frame)
    }

    /// Samples with the model's channels, fitted to its size, as the model's input values.
    private func place<Sample: FrameSample>(
        _ samples: UnsafePointer<Sample>, layout: ImageLayout, into frame: UnsafeMutablePointer<Float>
    ) {
        let c = channels
        if layout.rows == rows && layout.columns == columns {
            for i in 0 ..< frameCount { frame[i] = samples[i].inputValue }
            return
        }
        if layout.rows <= rows && layout.columns <= columns && fit != .resize {
            frame.initialize(repeating: 0, count: frameCount)
            let top = (rows - layout.rows) / 2
            let left = (columns - layout.columns) / 2
            let width = layout.columns * c
            for y in 0 ..< layout.rows {
                let target = frame + ((y + top) * columns + left) * c
                let source = samples + y * width
                for x in 0 ..< width { target[x] = source[x].inputValue }
            }
            return
        }
        // Bilinear, align_corners=False: source coordinate (d + 0.5) * in / out - 0.5,
        // clamped at 0, its right or lower neighbour clamped to the last pixel.
        let scaleY = Float(layout.rows) / Float(rows)
        let scaleX = Float(layout.columns) / Float(columns)
        let lastY = layout.rows - 1
        let lastX = layout.columns - 1
        for y in 0 ..< rows {
            let sy = max(0, (Float(y) + 0.5) * scaleY - 0.5)
            let y0 = min(Int(sy), lastY)
            let y1 = min(y0 + 1, lastY)
            let wy1 = sy - Float(y0)
            let wy0 = 1 - wy1
            for x in 0 ..< columns {
                let sx = max(0, (Float(x) + 0.5) * scaleX - 0.5)
                let x0 = min(Int(sx), lastX)
                let x1 = min(x0 + 1, lastX)
                let wx1 = sx - Float(x0)
                let wx0 = 1 - wx1
                let a = samples + (y0 * layout.columns + x0) * c
                let b = samples + (y0 * layout.columns + x1) * c
                let d = samples + (y1 * layout.columns + x0) * c
                let e = samples + (y1 * layout.columns + x1) * c
                let target = frame + (y * columns + x) * c
                for k in 0 ..< c {
                    let top = wx0 * a[k].inputValue + wx1 * b[k].inputValue
                    let bottom = wx0 * d[k].inputValue + wx1 * e[k].inputValue
                    target[k] = wy0 * top + wy1 * bottom
                }
            }
        }
    }
}
