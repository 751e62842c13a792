#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A line chart: series of (x, y) points joined by lines with small markers, axes with
/// round-valued ticks, axis labels, a title and a legend.
public struct LinePlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(Double, Double)]
        public var color: RGB
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series] = []
    /// Fixed y range; nil fits the data.
    public var yRange: ClosedRange<Double>?
    public var xRange: ClosedRange<Double>?
    /// Logarithmic y axis (values must be positive; others are dropped): training curves
    /// span orders of magnitude.
    public var logY = false
    /// Legend in the bottom-right corner instead of the top-right (for curves near the top).
    public var legendAtBottom = false

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    public mutating func add(series name: String, points: [(Double, Double)], color: RGB) {
        series.append(Series(name: name, points: points.filter { $0.0.isFinite && $0.1.isFinite }, color: color))
    }

    public func render(width: Int = 640, height: Int = 400) -> Canvas {
        var canvas = Canvas(width: width, height: height, background: .white)
        let left = 62
        let right = 16
        let top = 30
        let bottom = 44
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        canvas.text(title, x: max(4, (width - Canvas.textWidth(title)) / 2), y: 10)

        // With a log axis everything vertical happens in log10 space; labels show real values.
        let toY: (Double) -> Double = logY ? { log10($0) } : { $0 }
        let all = series.flatMap(\.points).filter { !logY || $0.1 > 0 }
        let xs = xRange ?? LinePlot.range(all.map(\.0))
        let ys = yRange.map { toY($0.lowerBound) ... toY($0.upperBound) } ?? LinePlot.range(all.map { toY($0.1) })
        let xTicks = LinePlot.ticks(xs)
        let yTicks = logY ? LinePlot.logTicks(ys) : LinePlot.ticks(ys)
        let x0 = min(xs.lowerBound, xTicks.first ?? xs.lowerBound)
        let x1 = max(xs.upperBound, xTicks.last ?? xs.upperBound)
        let y0 = min(ys.lowerBound, yTicks.first ?? ys.lowerBound)
        let y1 = max(ys.upperBound, yTicks.last ?? ys.upperBound)
        func px(_ x: Double) -> Double { Double(left) + (x - x0) / max(x1 - x0, 1e-12) * Double(plotWidth - 1) }
        func py(_ y: Double) -> Double {
            Double(top + plotHeight - 1) - (y - y0) / max(y1 - y0, 1e-12) * Double(plotHeight - 1)
        }

        // Grid, ticks and their labels.
        for t in yTicks {
            let y = Int(py(t).rounded())
            canvas.fill(x: left, y: y, width: plotWidth, height: 1, color: .lightGray)
            let value = logY ? pow(10, t) : t
            let label =
                logY
                ? LinePlot.format(value, step: value)
                : LinePlot.format(t, step: yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1)
            canvas.text(label, x: left - 6 - Canvas.textWidth(label), y: y - 3)
        }
        for t in xTicks {
            let x = Int(px(t).rounded())
            canvas.fill(x: x, y: top, width: 1, height: plotHeight, color: .lightGray)
            let label = LinePlot.format(t, step: xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1)
            canvas.text(label, x: x - Canvas.textWidth(label) / 2, y: top + plotHeight + 6)
        }
        canvas.rectangle(x: left, y: top, width: plotWidth, height: plotHeight, color: .black)
        canvas.text(xLabel, x: left + (plotWidth - Canvas.textWidth(xLabel)) / 2, y: height - 14)
        canvas.text(yLabel, x: 4, y: top - 14)

        for s in series {
            let points = s.points.filter { !logY || $0.1 > 0 }.map { ($0.0, toY($0.1)) }
            for (a, b) in zip(points, points.dropFirst()) {
                canvas.line(from: (px(a.0), py(a.1)), to: (px(b.0), py(b.1)), color: s.color, thickness: 2)
            }
            for p in points {
                canvas.fill(
                    x: Int(px(p.0).rounded()) - 2, y: Int(py(p.1).rounded()) - 2, width: 5, height: 5, color: s.color)
            }
        }
        // Legend, inside the frame at the top right (or bottom right).
        var y = legendAtBottom ? top + plotHeight - 8 - 13 * series.count : top + 8
        for s in series {
            let w = Canvas.textWidth(s.name)
            let x = left + plotWidth - w - 30
            canvas.fill(x: x - 2, y: y - 2, width: w + 28, height: 11, color: .white)
            canvas.fill(x: x, y: y + 2, width: 14, height: 3, color: s.color)
            canvas.text(s.name, x: x + 20, y: y, color: .black)
            y += 13
        }
        return canvas
    }

    static func range(_ values: [Double]) -> ClosedRange<Double> {
        guard let lo = values.min(), let hi = values.max() else { return 0 ... 1 }
        if lo == hi { return (lo - 1) ... (hi + 1) }
        return lo ... hi
    }

    /// About five "nice" tick values (1, 2 or 5 times a power of ten) covering the range.
    public static func ticks(_ range: ClosedRange<Double>, count: Int = 5) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let raw = span / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = floor(range.lowerBound / step) * step
        var ticks: [Double] = []
        var t = first
        while t <= range.upperBound + step * 0.5 && ticks.count < 50 {
            ticks.append(t)
            t += step
        }
        // Keep the ticks just outside the data, so the axes end on round numbers.
        return ticks.filter { $0 >= range.lowerBound - step * 0.999 && $0 <= range.upperBound + step * 0.999 }
    }

    /// Ticks for a log10 range: 1, 2 and 5 times each power of ten inside it (as log10 values).
    public static func logTicks(_ range: ClosedRange<Double>) -> [Double] {
        var ticks: [Double] = []
        for decade in Int(floor(range.lowerBound)) ... Int(ceil(range.upperBound)) {
            for m in [1.0, 2, 5] {
                let t = Double(decade) + log10(m)
                if t >= range.lowerBound - 1e-9 && t <= range.upperBound + 1e-9 { ticks.append(t) }
            }
        }
        return ticks.count >= 2 ? ticks : [range.lowerBound, range.upperBound]
    }

    static func format(_ value: Double, step: Double) -> String {
        let decimals = max(0, -Int(floor(log10(abs(step)) + 1e-9)))
        return fixed(abs(value) < step * 1e-6 ? 0 : value, decimals: decimals)
    }

    /// `value` with exactly `decimals` digits after the point (like printf's %.Nf), in
    /// plain Swift so plots need no Foundation formatting.
    static func fixed(_ value: Double, decimals: Int) -> String {
        let decimals = min(decimals, 12)
        var scale = 1.0
        for _ in 0 ..< decimals { scale *= 10 }
        let units = (abs(value) * scale).rounded()
        guard units < 9e15 else { return String(value) }
        let n = Int64(units)
        let p = Int64(scale)
        let fraction = String(n % p)
        let digits =
            decimals == 0 ? "\(n)" : "\(n / p)." + String(repeating: "0", count: decimals - fraction.count) + fraction
        return (value < 0 && n != 0 ? "-" : "") + digits
    }
}
