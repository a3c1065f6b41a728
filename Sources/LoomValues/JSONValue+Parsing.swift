// Strict RFC 8259 parser over UTF-8 bytes. Hand-written, iterative (no
// recursion, so nesting depth never threatens the stack), single pass.
//
// Rules beyond the RFC grammar, chosen for deterministic meaning:
//   * duplicate object keys are a syntax error (keys are compared with Swift
//     `String` equality, i.e. canonically-equivalent keys are duplicates);
//   * lone/unpaired surrogate escapes are a syntax error;
//   * integers that fit Int64 become `.int`; anything with a fraction, an
//     exponent, or out of Int64 range becomes `.double`; a number that rounds
//     to infinity is `nonFiniteNumber`;
//   * no BOM, comments, trailing commas, leading zeros, NaN/Infinity.

extension JSONValue {
    /// Parses `text` as a single JSON value.
    public static func parse(_ text: String, limits: JSONLimits = .default) throws(JSONError) -> JSONValue {
        let utf8 = text.utf8
        if utf8.count > limits.maxBytes {
            throw JSONError(
                code: .tooLarge,
                offset: limits.maxBytes,
                message: "input is \(utf8.count) bytes, limit is \(limits.maxBytes)"
            )
        }
        let fast: Result<JSONValue, JSONError>? = utf8.withContiguousStorageIfAvailable { buf in
            Result { () throws(JSONError) -> JSONValue in try parseBuffer(buf, limits: limits) }
        }
        if let fast { return try fast.get() }
        return try parse(bytes: Array(utf8), limits: limits)
    }

    /// Parses UTF-8 `bytes` as a single JSON value.
    public static func parse(bytes: [UInt8], limits: JSONLimits = .default) throws(JSONError) -> JSONValue {
        if bytes.count > limits.maxBytes {
            throw JSONError(
                code: .tooLarge,
                offset: limits.maxBytes,
                message: "input is \(bytes.count) bytes, limit is \(limits.maxBytes)"
            )
        }
        let result = bytes.withUnsafeBufferPointer { buf in
            Result { () throws(JSONError) -> JSONValue in try parseBuffer(buf, limits: limits) }
        }
        return try result.get()
    }

    static func parseBuffer(_ buf: UnsafeBufferPointer<UInt8>, limits: JSONLimits) throws(JSONError) -> JSONValue {
        var parser = JSONParser(buf, maxDepth: limits.maxDepth)
        return try parser.parseDocument()
    }
}

// MARK: - Parser

private enum Ascii {
    static let quote: UInt8 = 0x22  // "
    static let backslash: UInt8 = 0x5C  // \
    static let slash: UInt8 = 0x2F  // /
    static let comma: UInt8 = 0x2C
    static let colon: UInt8 = 0x3A
    static let openBracket: UInt8 = 0x5B
    static let closeBracket: UInt8 = 0x5D
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
    static let minus: UInt8 = 0x2D
    static let plus: UInt8 = 0x2B
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let lowerE: UInt8 = 0x65
    static let upperE: UInt8 = 0x45
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
}

/// Exact powers of ten representable as Double (10^0 ... 10^22).
private let exactPowersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

private struct JSONParser {
    let buf: UnsafeBufferPointer<UInt8>
    let end: Int
    let maxDepth: Int
    var pos = 0

    // Explicit container stack (iterative parse).
    var isObjectStack: [Bool] = []
    var arrayStack: [[JSONValue]] = []
    var objectStack: [[String: JSONValue]] = []
    var keyStack: [String] = []

    /// Scratch buffer for strings containing escapes.
    var scratch: [UInt8] = []

    init(_ buf: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buf = buf
        self.end = buf.count
        self.maxDepth = maxDepth
    }

    // MARK: helpers

    @inline(__always)
    func byte(_ i: Int) -> UInt8 { buf[i] }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            let b = buf[pos]
            if b == Ascii.space || b == Ascii.lf || b == Ascii.cr || b == Ascii.tab {
                pos += 1
            } else {
                return
            }
        }
    }

    func syntax(_ message: String, at offset: Int? = nil) -> JSONError {
        JSONError(code: .syntax, offset: offset ?? pos, message: message)
    }

    func unexpected(_ expected: String) -> JSONError {
        if pos >= end {
            return syntax("unexpected end of input, expected \(expected)")
        }
        let b = buf[pos]
        let shown: String
        if b >= 0x21 && b < 0x7F {
            shown = "'\(String(UnicodeScalar(b)))'"
        } else {
            shown = "byte 0x\(String(b, radix: 16))"
        }
        return syntax("unexpected \(shown), expected \(expected)")
    }

    // MARK: document

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        let value = try parseValueTree()
        skipWhitespace()
        if pos != end {
            throw unexpected("end of input after top-level value")
        }
        return value
    }

    mutating func pushDepthCheck() throws(JSONError) {
        if isObjectStack.count + 1 > maxDepth {
            throw JSONError(
                code: .tooDeep,
                offset: pos,
                message: "nesting deeper than \(maxDepth)"
            )
        }
    }

    /// Parses "key" ws ':' for an object member; checks for duplicates against
    /// the object currently on top of the stack (if `checkAgainstTop`).
    mutating func parseMemberKey(checkAgainstTop: Bool) throws(JSONError) -> String {
        skipWhitespace()
        guard pos < end, buf[pos] == Ascii.quote else {
            throw unexpected("'\"' (object key)")
        }
        let keyOffset = pos
        let key = try parseString()
        if checkAgainstTop, objectStack[objectStack.count - 1][key] != nil {
            throw syntax("duplicate object key \"\(key)\"", at: keyOffset)
        }
        skipWhitespace()
        guard pos < end, buf[pos] == Ascii.colon else {
            throw unexpected("':'")
        }
        pos += 1
        return key
    }

    mutating func parseValueTree() throws(JSONError) -> JSONValue {
        outer: while true {
            // Expecting a value.
            skipWhitespace()
            guard pos < end else { throw unexpected("a value") }
            var value: JSONValue
            let b = buf[pos]
            switch b {
            case Ascii.openBracket:
                try pushDepthCheck()
                pos += 1
                skipWhitespace()
                if pos < end && buf[pos] == Ascii.closeBracket {
                    pos += 1
                    value = .array([])
                } else {
                    isObjectStack.append(false)
                    arrayStack.append([])
                    continue outer
                }
            case Ascii.openBrace:
                try pushDepthCheck()
                pos += 1
                skipWhitespace()
                if pos < end && buf[pos] == Ascii.closeBrace {
                    pos += 1
                    value = .object([:])
                } else {
                    let key = try parseMemberKey(checkAgainstTop: false)
                    isObjectStack.append(true)
                    objectStack.append([:])
                    keyStack.append(key)
                    continue outer
                }
            case Ascii.quote:
                value = .string(try parseString())
            case Ascii.minus, Ascii.zero...Ascii.nine:
                value = try parseNumber()
            case 0x74:  // t
                try expectLiteral("true")
                value = .bool(true)
            case 0x66:  // f
                try expectLiteral("false")
                value = .bool(false)
            case 0x6E:  // n
                try expectLiteral("null")
                value = .null
            default:
                throw unexpected("a value")
            }

            // A complete value: attach it to its parent(s).
            while true {
                guard let isObject = isObjectStack.last else { return value }
                skipWhitespace()
                if isObject {
                    let top = objectStack.count - 1
                    objectStack[top][keyStack.removeLast()] = value
                    guard pos < end else { throw unexpected("',' or '}'") }
                    let c = buf[pos]
                    if c == Ascii.comma {
                        pos += 1
                        keyStack.append(try parseMemberKey(checkAgainstTop: true))
                        continue outer
                    } else if c == Ascii.closeBrace {
                        pos += 1
                        isObjectStack.removeLast()
                        value = .object(objectStack.removeLast())
                    } else {
                        throw unexpected("',' or '}'")
                    }
                } else {
                    arrayStack[arrayStack.count - 1].append(value)
                    guard pos < end else { throw unexpected("',' or ']'") }
                    let c = buf[pos]
                    if c == Ascii.comma {
                        pos += 1
                        continue outer
                    } else if c == Ascii.closeBracket {
                        pos += 1
                        isObjectStack.removeLast()
                        value = .array(arrayStack.removeLast())
                    } else {
                        throw unexpected("',' or ']'")
                    }
                }
            }
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let n = literal.utf8CodeUnitCount
        let start = pos
        if end - pos >= n {
            let lit = literal.utf8Start
            var ok = true
            for i in 0..<n where buf[pos + i] != lit[i] {
                ok = false
                break
            }
            if ok {
                pos += n
                return
            }
        }
        throw syntax("invalid literal, expected \(literal)", at: start)
    }

    // MARK: strings

    /// Parses a string starting at the opening quote. Validates UTF-8.
    mutating func parseString() throws(JSONError) -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes -> build the String directly from the input bytes.
        while pos < end {
            let b = buf[pos]
            if b == Ascii.quote {
                let s = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            } else if b == Ascii.backslash {
                break
            } else if b < 0x20 {
                throw syntax("unescaped control character 0x\(String(b, radix: 16)) in string")
            } else if b < 0x80 {
                pos += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        guard pos < end else { throw syntax("unterminated string", at: start - 1) }

        // Slow path: escapes present. Copy the clean prefix into scratch and decode.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<pos]))
        while pos < end {
            let b = buf[pos]
            if b == Ascii.quote {
                pos += 1
                return String(decoding: scratch, as: UTF8.self)
            } else if b == Ascii.backslash {
                try decodeEscape()
            } else if b < 0x20 {
                throw syntax("unescaped control character 0x\(String(b, radix: 16)) in string")
            } else if b < 0x80 {
                scratch.append(b)
                pos += 1
            } else {
                let s = pos
                try skipUTF8Sequence()
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: buf[s..<pos]))
            }
        }
        throw syntax("unterminated string", at: start - 1)
    }

    /// Validates one multi-byte UTF-8 sequence at `pos` (lead byte >= 0x80) and
    /// advances past it. RFC 3629: no overlongs, no surrogates, max U+10FFFF.
    @inline(__always)
    mutating func skipUTF8Sequence() throws(JSONError) {
        let lead = buf[pos]
        let remaining = end - pos
        @inline(__always) func cont(_ i: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            i < remaining && buf[pos + i] >= lo && buf[pos + i] <= hi
        }
        let ok: Bool
        let len: Int
        switch lead {
        case 0xC2...0xDF:
            len = 2
            ok = cont(1)
        case 0xE0:
            len = 3
            ok = cont(1, 0xA0, 0xBF) && cont(2)
        case 0xE1...0xEC, 0xEE...0xEF:
            len = 3
            ok = cont(1) && cont(2)
        case 0xED:
            len = 3
            ok = cont(1, 0x80, 0x9F) && cont(2)
        case 0xF0:
            len = 4
            ok = cont(1, 0x90, 0xBF) && cont(2) && cont(3)
        case 0xF1...0xF3:
            len = 4
            ok = cont(1) && cont(2) && cont(3)
        case 0xF4:
            len = 4
            ok = cont(1, 0x80, 0x8F) && cont(2) && cont(3)
        default:
            len = 1
            ok = false
        }
        if !ok {
            throw JSONError(
                code: .invalidUTF8,
                offset: pos,
                message: "invalid UTF-8 sequence starting with byte 0x\(String(lead, radix: 16))"
            )
        }
        pos += len
    }

    /// Decodes an escape sequence at `pos` (the backslash) into `scratch`.
    mutating func decodeEscape() throws(JSONError) {
        let escStart = pos
        pos += 1
        guard pos < end else { throw syntax("unterminated escape", at: escStart) }
        let e = buf[pos]
        pos += 1
        switch e {
        case Ascii.quote: scratch.append(Ascii.quote)
        case Ascii.backslash: scratch.append(Ascii.backslash)
        case Ascii.slash: scratch.append(Ascii.slash)
        case 0x62: scratch.append(0x08)  // b
        case 0x66: scratch.append(0x0C)  // f
        case 0x6E: scratch.append(0x0A)  // n
        case 0x72: scratch.append(0x0D)  // r
        case 0x74: scratch.append(0x09)  // t
        case 0x75:  // u
            var scalar = try readHex4(escStart: escStart)
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // High surrogate: must be followed by \u low surrogate.
                guard end - pos >= 6, buf[pos] == Ascii.backslash, buf[pos + 1] == 0x75 else {
                    throw syntax("lone high surrogate \\u\(String(scalar, radix: 16))", at: escStart)
                }
                let lowStart = pos
                pos += 2
                let low = try readHex4(escStart: lowStart)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw syntax("high surrogate not followed by low surrogate", at: escStart)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw syntax("lone low surrogate \\u\(String(scalar, radix: 16))", at: escStart)
            }
            appendUTF8(scalar)
        default:
            throw syntax("invalid escape sequence", at: escStart)
        }
    }

    mutating func readHex4(escStart: Int) throws(JSONError) -> UInt32 {
        guard end - pos >= 4 else { throw syntax("truncated \\u escape", at: escStart) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = buf[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw syntax("invalid hex digit in \\u escape", at: escStart)
            }
            v = (v << 4) | d
            pos += 1
        }
        return v
    }

    @inline(__always)
    mutating func appendUTF8(_ s: UInt32) {
        if s < 0x80 {
            scratch.append(UInt8(s))
        } else if s < 0x800 {
            scratch.append(UInt8(0xC0 | (s >> 6)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        } else if s < 0x10000 {
            scratch.append(UInt8(0xE0 | (s >> 12)))
            scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        } else {
            scratch.append(UInt8(0xF0 | (s >> 18)))
            scratch.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (s & 0x3F)))
        }
    }

    // MARK: numbers

    @inline(__always)
    func isDigit(_ i: Int) -> Bool {
        i < end && buf[i] >= Ascii.zero && buf[i] <= Ascii.nine
    }

    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = pos
        var negative = false
        if buf[pos] == Ascii.minus {
            negative = true
            pos += 1
        }
        guard isDigit(pos) else { throw syntax("expected digit", at: pos) }

        // Significand accumulated as UInt64 while it fits (for the Int64 result
        // and the exact Double fast path).
        var mantissa: UInt64 = 0
        var mantissaOverflow = false
        var decimalExponent = 0  // value = mantissa * 10^decimalExponent (before explicit exponent)

        @inline(__always) func accumulate(_ d: UInt8, fraction: Bool) {
            let digit = UInt64(d &- Ascii.zero)
            if !mantissaOverflow {
                let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(digit)
                if o1 || o2 {
                    mantissaOverflow = true
                    if !fraction { decimalExponent += 1 }
                } else {
                    mantissa = m2
                    if fraction { decimalExponent -= 1 }
                }
            } else if !fraction {
                decimalExponent += 1
            }
        }

        if buf[pos] == Ascii.zero {
            pos += 1
            if isDigit(pos) { throw syntax("leading zero in number", at: start) }
        } else {
            while pos < end {
                let c = buf[pos]
                guard c >= Ascii.zero && c <= Ascii.nine else { break }
                accumulate(c, fraction: false)
                pos += 1
            }
        }

        var isInteger = true
        if pos < end && buf[pos] == Ascii.dot {
            isInteger = false
            pos += 1
            guard isDigit(pos) else { throw syntax("expected digit after decimal point", at: pos) }
            while pos < end {
                let c = buf[pos]
                guard c >= Ascii.zero && c <= Ascii.nine else { break }
                accumulate(c, fraction: true)
                pos += 1
            }
        }
        var explicitExponent = 0
        if pos < end && (buf[pos] == Ascii.lowerE || buf[pos] == Ascii.upperE) {
            isInteger = false
            pos += 1
            var expNegative = false
            if pos < end && (buf[pos] == Ascii.plus || buf[pos] == Ascii.minus) {
                expNegative = buf[pos] == Ascii.minus
                pos += 1
            }
            guard isDigit(pos) else { throw syntax("expected digit in exponent", at: pos) }
            while pos < end {
                let c = buf[pos]
                guard c >= Ascii.zero && c <= Ascii.nine else { break }
                if explicitExponent < 1_000_000 {
                    explicitExponent = explicitExponent * 10 + Int(c - Ascii.zero)
                }
                pos += 1
            }
            if expNegative { explicitExponent = -explicitExponent }
        }

        if isInteger && !mantissaOverflow {
            if negative {
                if mantissa <= UInt64(Int64.max) + 1 {
                    return .int(mantissa == UInt64(Int64.max) + 1 ? Int64.min : -Int64(mantissa))
                }
            } else if mantissa <= UInt64(Int64.max) {
                return .int(Int64(mantissa))
            }
        }

        // Double. Exact fast path (Clinger): significand <= 2^53 and |exp10| <= 22
        // means one correctly-rounded IEEE operation on exact operands.
        let exp10 = decimalExponent + explicitExponent
        if !mantissaOverflow && mantissa <= (1 << 53) && exp10 >= -22 && exp10 <= 22 {
            var d = Double(mantissa)
            if exp10 >= 0 { d *= exactPowersOfTen[exp10] } else { d /= exactPowersOfTen[-exp10] }
            if negative { d = -d }
            if !d.isFinite { throw nonFinite(start) }
            return .double(d)
        }
        if !mantissaOverflow && mantissa == 0 {
            return .double(negative ? -0.0 : 0.0)
        }
        // General path: correctly rounded conversion of the exact text.
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
        guard let d = Double(text) else {
            throw syntax("invalid number", at: start)
        }
        if !d.isFinite { throw nonFinite(start) }
        return .double(d)
    }

    func nonFinite(_ start: Int) -> JSONError {
        JSONError(code: .nonFiniteNumber, offset: start, message: "number is out of Double range")
    }
}
