/// How a classifier's answers fall against the true labels: counts by (true class,
/// predicted class), per-class accuracy, a text table and a chart (`ConfusionMatrixChart`).
public struct ConfusionMatrix: Sendable, Equatable {
    public let classNames: [String]
    /// counts[actual * classCount + predicted].
    public private(set) var counts: [Int]

    public var classCount: Int { classNames.count }

    public init(classNames: [String]) {
        self.classNames = classNames
        counts = [Int](repeating: 0, count: classNames.count * classNames.count)
    }

    /// The matrix of `predicted` against `actual` (the same length). A label outside the
    /// classes, or arrays of different lengths, is one line saying so.
    public init(predicted: [Int], actual: [Int], classNames: [String]) throws {
        guard predicted.count == actual.count else {
            throw ConfusionMatrixError(
                "\(predicted.count) predictions for \(actual.count) labels: the counts must be the same")
        }
        self.init(classNames: classNames)
        for (p, a) in zip(predicted, actual) {
            guard (0 ..< classCount).contains(p), (0 ..< classCount).contains(a) else {
                throw ConfusionMatrixError(
                    "label \((0 ..< classCount).contains(a) ? p : a) is outside the \(classCount) classes")
            }
            counts[a * classCount + p] += 1
        }
    }

    /// Names 0 ... count-1 (digits, or a model's class indices).
    public static func numberedClasses(_ count: Int) -> [String] { (0 ..< count).map { String($0) } }

    public subscript(actual actual: Int, predicted predicted: Int) -> Int { counts[actual * classCount + predicted] }

    /// Images whose true class is `actual`.
    public func imageCount(of actual: Int) -> Int {
        counts[actual * classCount ..< (actual + 1) * classCount].reduce(0, +)
    }
    /// Images predicted as `predicted`.
    public func predictionCount(of predicted: Int) -> Int {
        (0 ..< classCount).reduce(0) { $0 + self[actual: $1, predicted: predicted] }
    }
    public var total: Int { counts.reduce(0, +) }
    public var correct: Int { (0 ..< classCount).reduce(0) { $0 + self[actual: $1, predicted: $1] } }
    public var accuracy: Double { Double(correct) / Double(max(total, 1)) }

    /// The share of class `actual`'s images predicted right (its recall); nil without images.
    public func accuracy(of actual: Int) -> Double? {
        let n = imageCount(of: actual)
        return n == 0 ? nil : Double(self[actual: actual, predicted: actual]) / Double(n)
    }
    /// The share of the predictions of `predicted` that were right; nil if never predicted.
    public func precision(of predicted: Int) -> Double? {
        let n = predictionCount(of: predicted)
        return n == 0 ? nil : Double(self[actual: predicted, predicted: predicted]) / Double(n)
    }

    /// The class `actual`'s images are most often mistaken for, and how often (nil: none).
    public func mostConfused(_ actual: Int) -> (predicted: Int, count: Int)? {
        var best: (Int, Int)?
        for p in 0 ..< classCount where p != actual && self[actual: actual, predicted: p] > (best?.1 ?? 0) {
            best = (p, self[actual: actual, predicted: p])
        }
        return best
    }

    /// One line per class: images, right, accuracy, precision and the class most often
    /// predicted instead; then the totals. Columns line up for names of any length.
    public var table: String {
        let nameWidth = max(5, classNames.map(\.count).max() ?? 0)
        func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, width - s.count))
            return left ? s + fill : fill + s
        }
        func percent(_ value: Double?) -> String { value.map { Self.percentText($0) } ?? "-" }
        var lines = [
            pad("class", nameWidth, left: true) + "  " + pad("images", 7) + "  " + pad("right", 7) + "  "
                + pad("accuracy", 8) + "  " + pad("precision", 9) + "  most often taken for"
        ]
        for c in 0 ..< classCount {
            let confused = mostConfused(c).map { "\(classNames[$0.predicted]) (\($0.count))" } ?? "-"
            lines.append(
                pad(classNames[c], nameWidth, left: true) + "  " + pad(String(imageCount(of: c)), 7) + "  "
                    + pad(String(self[actual: c, predicted: c]), 7) + "  " + pad(percent(accuracy(of: c)), 8) + "  "
                    + pad(percent(precision(of: c)), 9) + "  " + confused)
        }
        lines.append(
            pad("all", nameWidth, left: true) + "  " + pad(String(total), 7) + "  " + pad(String(correct), 7) + "  "
                + pad(percent(total == 0 ? nil : accuracy), 8))
        return lines.joined(separator: "\n")
    }

    /// A share as a percentage with two decimals ("99.49%"), without Foundation.
    static func percentText(_ share: Double) -> String {
        guard share.isFinite else { return "-" }
        let hundredths = Int((share * 10_000).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)%"
    }
}

public struct ConfusionMatrixError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
