//! A panic inside `terminal::guarded` (third-party code fed server data) is
//! caught and reported, even with opsdeck's panic hook installed, which ends
//! the program on any other panic.

#[test]
fn a_guarded_panic_is_caught_with_the_hook_installed() {
    opsdeck::terminal::install_panic_hook("(test)".into());
    assert_eq!(opsdeck::terminal::guarded(|| 7), Some(7));
    let caught: Option<()> = opsdeck::terminal::guarded(|| panic!("inside the exposition parser"));
    assert_eq!(caught, None, "the process is still here to say so");
}
