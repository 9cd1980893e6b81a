//! Integers as decimal text without `fmt`, for the text written once per request: response heads here, the CLI's
//! request lines. The formatting machinery cost more than the rest of such a line.

/// The digits of one integer, on the stack.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    digits: [u8; 20],
    at: usize,
}

impl Decimal {
    /// The decimal digits of `n`.
    pub fn new(mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + u8::try_from(n % 10).unwrap_or(0);
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { digits, at }
    }

    /// The digits as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.digits[self.at..]
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_written_whole() {
        for n in [0, 7, 10, 12345, u64::MAX] {
            assert_eq!(Decimal::new(n).as_str(), n.to_string());
        }
    }
}
