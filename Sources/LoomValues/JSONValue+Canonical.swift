// Canonical JSON encoding. This is what the journal hash chain hashes, so it is
// normative and must stay byte-for-byte stable. Spec: docs/canonical-json.md.
//
//   * no insignificant whitespace;
//   * object members sorted by the UTF-8 bytes of their keys (unsigned
//     lexicographic byte order, shorter prefix first; equals code point order);
//   * strings: `"` -> \"  `\` -> \\  U+0008 \b  U+000C \f  U+000A \n  U+000D \r
//     U+0009 \t, other U+0000..U+001F -> \u00xx (lowercase hex); everything
//     else (including `/`, U+007F and all non-ASCII) raw UTF-8;
//   * `.int` as decimal (leading `-` for negatives);
//   * `.double`: if integral with |v| < 2^53, as the integer (1.0 -> 1,
//     -0.0 -> 0); otherwise Swift's shortest round-trip `description`
//     (0.1, 1e+300, 9007199254740992.0, 5e-324);
//   * NaN / ±infinity (not producible by the parser) are encoded as `null`;
//   * null / true / false.

extension JSONValue {
    /// The canonical encoding as a String.
    public var canonicalText: String {
        String(decoding: canonicalBytes(), as: UTF8.self)
    }

    /// The canonical encoding as UTF-8 bytes.
    public func canonicalBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(estimatedCanonicalSize(limit: 1 << 16))
        JSONCanonicalEncoder.encode(self, into: &out)
        return out
    }

    /// A cheap lower-bound-ish estimate of the encoded size, to size the buffer.
    private func estimatedCanonicalSize(limit: Int) -> Int {
        switch self {
        case .null, .bool: return 5
        case .int, .double: return 20
        case .string(let s): return s.utf8.count + 2
        case .array(let a): return min(limit, 2 + a.count * 8)
        case .object(let o): return min(limit, 2 + o.count * 16)
        }
    }
}

/// Unsigned lexicographic comparison of the UTF-8 bytes of two strings.
@inline(__always)
func utf8BytesPrecede(_ a: String, _ b: String) -> Bool {
    var a = a
    var b = b
    return a.withUTF8 { pa in
        b.withUTF8 { pb in
            let n = Swift.min(pa.count, pb.count)
            var i = 0
            while i < n {
                let x = pa[i], y = pb[i]
                if x != y { return x < y }
                i += 1
            }
            return pa.count < pb.count
        }
    }
}

package enum JSONCanonicalEncoder {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func encode(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null:
            appendASCII("null", &out)
        case .bool(let b):
            appendASCII(b ? "true" : "false", &out)
        case .int(let i):
            appendInt(i, &out)
        case .double(let d):
            appendDouble(d, &out)
        case .string(let s):
            appendString(s, &out)
        case .array(let elements):
            out.append(0x5B)  // [
            var first = true
            for element in elements {
                if !first { out.append(0x2C) }
                first = false
                encode(element, into: &out)
            }
            out.append(0x5D)  // ]
        case .object(let members):
            out.append(0x7B)  // {
            if members.count == 1, let only = members.first {
                appendString(only.key, &out)
                out.append(0x3A)  // :
                encode(only.value, into: &out)
            } else if !members.isEmpty {
                let sorted = members.sorted { utf8BytesPrecede($0.key, $1.key) }
                var first = true
                for (k, v) in sorted {
                    if !first { out.append(0x2C) }
                    first = false
                    appendString(k, &out)
                    out.append(0x3A)  // :
                    encode(v, into: &out)
                }
            }
            out.append(0x7D)  // }
        }
    }

    @inline(__always)
    private static func appendASCII(_ s: StaticString, _ out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    package static func appendInt(_ i: Int64, _ out: inout [UInt8]) {
        if i == 0 {
            out.append(0x30)
            return
        }
        // Magnitude as UInt64 handles Int64.min.
        var m: UInt64 = i < 0 ? UInt64(bitPattern: 0 &- i) : UInt64(i)
        if i < 0 { out.append(0x2D) }
        let first = out.count
        while m != 0 {
            out.append(UInt8(truncatingIfNeeded: m % 10) &+ 0x30)
            m /= 10
        }
        out[first..<out.count].reverse()
    }

    static func appendDouble(_ d: Double, _ out: inout [UInt8]) {
        guard d.isFinite else {
            appendASCII("null", &out)
            return
        }
        if Swift.abs(d) < 9_007_199_254_740_992.0 {  // 2^53
            let i = Int64(d)  // truncates; exact iff d is integral
            if Double(i) == d {
                appendInt(i, &out)
                return
            }
        }
        out.append(contentsOf: d.description.utf8)
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Whether any byte of `word` is below 0x20, a quote or a backslash. Exact: a byte at or
    /// above 0x80 (UTF-8 beyond ASCII) sets no flag of its own.
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool {
        let below20 = (word &- ones &* 0x20) & ~word & highs
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote & highs
        let hasBackslash = (backslash &- ones) & ~backslash & highs
        return (below20 | hasQuote | hasBackslash) != 0
    }

    package static func appendString(_ s: String, _ out: inout [UInt8]) {
        var s = s
        out.append(0x22)
        s.withUTF8 { p in
            guard let base = p.baseAddress else { return }
            let count = p.count
            var runStart = 0
            var i = 0
            while i < count {
                // Prompts and outputs are kilobytes of plain text: skip eight bytes at a time
                // while none of them needs an escape, and look at single bytes only around one.
                if i &+ 8 <= count, !needsEscape(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
                    i &+= 8
                    continue
                }
                let b = p[i]
                if b >= 0x20 && b != 0x22 && b != 0x5C {
                    i += 1
                    continue
                }
                if runStart < i {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: p[runStart..<i]))
                }
                switch b {
                case 0x22:
                    out.append(0x5C)
                    out.append(0x22)
                case 0x5C:
                    out.append(0x5C)
                    out.append(0x5C)
                case 0x08:
                    out.append(0x5C)
                    out.append(0x62)  // \b
                case 0x0C:
                    out.append(0x5C)
                    out.append(0x66)  // \f
                case 0x0A:
                    out.append(0x5C)
                    out.append(0x6E)  // \n
                case 0x0D:
                    out.append(0x5C)
                    out.append(0x72)  // \r
                case 0x09:
                    out.append(0x5C)
                    out.append(0x74)  // \t
                default:
                    // \u00xx, lowercase hex
                    out.append(0x5C)
                    out.append(0x75)
                    out.append(0x30)
                    out.append(0x30)
                    out.append(hexDigits[Int(b >> 4)])
                    out.append(hexDigits[Int(b & 0x0F)])
                }
                i += 1
                runStart = i
            }
            if runStart < count {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[runStart..<count]))
            }
        }
        out.append(0x22)
    }
}
