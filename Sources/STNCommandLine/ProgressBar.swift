#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A one-line progress bar for a terminal, redrawn in place:
///
///     epoch 3/10 [==========>         ]  52%  loss 0.1234  2345 img/s  ETA 4m10s
///
/// `line` fits the parts into the terminal's width, giving the bar what is left and
/// dropping the optional parts (those after the ETA) that do not fit.
public enum ProgressBar {
    /// `[=====>    ]`: `fraction` (clamped to 0 ... 1) of `width` characters filled.
    public static func bar(fraction: Double, width: Int) -> String {
        let inside = max(1, width - 2)
        let share = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let filled = Int((share * Double(inside)).rounded(.down))
        if filled >= inside { return "[" + String(repeating: "=", count: inside) + "]" }
        return "[" + String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: inside - filled - 1)
            + "]"
    }

    /// `prefix`, a bar for `fraction`, its percentage and `suffix`, then as many of
    /// `optional` as fit in `columns` characters. The bar takes the room left over (10 to 40
    /// characters); with less room than that the bar is left out.
    public static func line(
        prefix: String, fraction: Double, suffix: String, optional: [String] = [], columns: Int
    ) -> String {
        let share = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let percent = String(Int((share * 100).rounded(.down)))
        let percentText = String(repeating: " ", count: max(0, 3 - percent.count)) + percent + "%"
        var tail = "  " + suffix
        for part in optional
        where prefix.count + 1 + 10 + 1 + percentText.count + tail.count + 2 + part.count <= columns {
            tail += "  " + part
        }
        let room = columns - (prefix.count + 1 + 1 + percentText.count + tail.count)
        // One column is kept free: a line filling the last column wraps on some terminals.
        let barWidth = min(40, room - 1)
        guard barWidth >= 10 else { return String((prefix + " " + percentText + tail).prefix(max(0, columns - 1))) }
        return prefix + " " + bar(fraction: share, width: barWidth) + " " + percentText + tail
    }

    /// A time span as 42s, 3m05s or 2h07m; "?" when unknown (not finite, negative, or
    /// beyond a century: a stalled run).
    public static func duration(_ seconds: Double) -> String {
        // Int(_:) traps beyond Int's range.
        guard seconds.isFinite, seconds >= 0, seconds < 3e9 else { return "?" }
        let s = Int(seconds.rounded())
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(two(s % 60))s" }
        return "\(s / 3600)h\(two((s % 3600) / 60))m"
    }

    /// Columns of the terminal on `descriptor` (80 when it does not say).
    public static func terminalColumns(_ descriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
