pub(crate) fn stun_server(_args: &[String]) -> Result<(), String> {
    Err("not yet written".into())
}
