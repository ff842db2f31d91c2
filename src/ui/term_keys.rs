//! Keys to the bytes a terminal program expects (xterm's encoding): what the embedded
//! terminal pane sends into a container for each key the console receives.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// xterm's modifier parameter: 1 + shift + 2·alt + 4·ctrl (None when unmodified).
fn modifier_param(m: KeyModifiers) -> Option<u8> {
    let mut p = 1;
    if m.contains(KeyModifiers::SHIFT) {
        p += 1;
    }
    if m.contains(KeyModifiers::ALT) {
        p += 2;
    }
    if m.contains(KeyModifiers::CONTROL) {
        p += 4;
    }
    (p > 1).then_some(p)
}

/// A cursor-style key (arrows, home/end, F1-F4): `ESC [ X`, `ESC O X` in
/// application-cursor mode, `ESC [ 1 ; m X` with modifiers.
fn cursor_key(letter: u8, mods: KeyModifiers, ss3: bool) -> Vec<u8> {
    match modifier_param(mods) {
        Some(m) => format!("\x1b[1;{m}{}", char::from(letter)).into_bytes(),
        None if ss3 => vec![0x1b, b'O', letter],
        None => vec![0x1b, b'[', letter],
    }
}

/// A tilde key (insert, delete, pages, F5-F12): `ESC [ n ~` or `ESC [ n ; m ~`.
fn tilde_key(n: u8, mods: KeyModifiers) -> Vec<u8> {
    match modifier_param(mods) {
        Some(m) => format!("\x1b[{n};{m}~").into_bytes(),
        None => format!("\x1b[{n}~").into_bytes(),
    }
}

/// The control byte for ctrl + `c`, if the combination has one.
fn control_byte(c: char) -> Option<u8> {
    Some(match c.to_ascii_lowercase() {
        c @ 'a'..='z' => c as u8 - b'a' + 1,
        '@' | ' ' | '2' => 0,
        '[' | '3' => 0x1b,
        '\\' | '4' => 0x1c,
        ']' | '5' => 0x1d,
        '^' | '6' => 0x1e,
        '_' | '-' | '7' => 0x1f,
        '?' | '8' => 0x7f,
        _ => return None,
    })
}

/// The bytes for `k`; `app_cursor` is the program's DECCKM mode (vim and less turn it
/// on, and then expect `ESC O A` for up). Empty for keys a terminal cannot send.
pub fn key_bytes(k: &KeyEvent, app_cursor: bool) -> Vec<u8> {
    let mods = k.modifiers;
    let alt = mods.contains(KeyModifiers::ALT);
    let ctrl = mods.contains(KeyModifiers::CONTROL);
    // Alt on a plain key is an ESC prefix (xterm's metaSendsEscape).
    let with_alt = |mut v: Vec<u8>| {
        if alt {
            v.insert(0, 0x1b);
        }
        v
    };
    match k.code {
        KeyCode::Char(c) => {
            if ctrl {
                match control_byte(c) {
                    Some(b) => with_alt(vec![b]),
                    None => Vec::new(),
                }
            } else {
                let mut buf = [0u8; 4];
                with_alt(c.encode_utf8(&mut buf).as_bytes().to_vec())
            }
        }
        KeyCode::Enter => with_alt(vec![b'\r']),
        KeyCode::Tab => with_alt(vec![b'\t']),
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => with_alt(vec![if ctrl { 0x08 } else { 0x7f }]),
        KeyCode::Esc => with_alt(vec![0x1b]),
        KeyCode::Up => cursor_key(b'A', mods, app_cursor),
        KeyCode::Down => cursor_key(b'B', mods, app_cursor),
        KeyCode::Right => cursor_key(b'C', mods, app_cursor),
        KeyCode::Left => cursor_key(b'D', mods, app_cursor),
        KeyCode::Home => cursor_key(b'H', mods, app_cursor),
        KeyCode::End => cursor_key(b'F', mods, app_cursor),
        KeyCode::Insert => tilde_key(2, mods),
        KeyCode::Delete => tilde_key(3, mods),
        KeyCode::PageUp => tilde_key(5, mods),
        KeyCode::PageDown => tilde_key(6, mods),
        KeyCode::F(n @ 1..=4) => cursor_key(b'P' + (n - 1), mods, true),
        KeyCode::F(n @ 5..=12) => {
            // xterm skips 16 and 22.
            const CODES: [u8; 8] = [15, 17, 18, 19, 20, 21, 23, 24];
            tilde_key(CODES[usize::from(n - 5)], mods)
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> Vec<u8> {
        key_bytes(&KeyEvent::new(code, mods), false)
    }

    #[test]
    fn printable_control_and_alt_keys() {
        let none = KeyModifiers::NONE;
        assert_eq!(key(KeyCode::Char('a'), none), b"a");
        assert_eq!(key(KeyCode::Char('é'), none), "é".as_bytes());
        assert_eq!(key(KeyCode::Char('c'), KeyModifiers::CONTROL), [3]);
        assert_eq!(key(KeyCode::Char('D'), KeyModifiers::CONTROL), [4]);
        assert_eq!(key(KeyCode::Char(' '), KeyModifiers::CONTROL), [0]);
        assert_eq!(key(KeyCode::Char('b'), KeyModifiers::ALT), b"\x1bb");
        assert_eq!(key(KeyCode::Enter, none), b"\r");
        assert_eq!(key(KeyCode::Backspace, none), [0x7f]);
        assert_eq!(key(KeyCode::Esc, none), [0x1b]);
        assert_eq!(key(KeyCode::BackTab, KeyModifiers::SHIFT), b"\x1b[Z");
    }

    #[test]
    fn cursor_and_function_keys() {
        let none = KeyModifiers::NONE;
        assert_eq!(key(KeyCode::Up, none), b"\x1b[A");
        assert_eq!(
            key_bytes(&KeyEvent::new(KeyCode::Up, none), true),
            b"\x1bOA",
            "application cursor mode"
        );
        assert_eq!(key(KeyCode::Left, KeyModifiers::CONTROL), b"\x1b[1;5D");
        assert_eq!(key(KeyCode::Home, none), b"\x1b[H");
        assert_eq!(key(KeyCode::Delete, none), b"\x1b[3~");
        assert_eq!(key(KeyCode::PageDown, KeyModifiers::SHIFT), b"\x1b[6;2~");
        assert_eq!(key(KeyCode::F(1), none), b"\x1bOP");
        assert_eq!(key(KeyCode::F(5), none), b"\x1b[15~");
        assert_eq!(key(KeyCode::F(12), none), b"\x1b[24~");
        assert_eq!(key(KeyCode::F(20), none), b"");
    }
}
