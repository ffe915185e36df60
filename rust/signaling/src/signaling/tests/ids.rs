//! Lobby names and peer ids come from the operating system's random source (the other tests seed
//! a generator so that their names repeat).

use super::*;

/// Three lobbies and two guests in the first, on `server`: every lobby name and guest peer id
/// handed out.
fn names_and_ids(server: Signaling) -> (Vec<String>, Vec<i64>) {
    let mut test = Harness::new();
    test.server = server;
    let names: Vec<_> = (0..3).map(|_| test.host(true).1).collect();
    let ids = (0..2).map(|_| test.join(true, &names[0]).1).collect();
    (names, ids)
}

#[test]
fn two_servers_in_the_same_state_hand_out_different_names_and_ids() {
    let (names, ids) = names_and_ids(Signaling::new(limits()));
    let (other_names, other_ids) = names_and_ids(Signaling::new(limits()));
    // Equal by chance with probability 2^-40 per name: the source is not a function of the
    // server's state (a seeded generator started alike would repeat itself exactly).
    assert!(names.iter().all(|name| !other_names.contains(name)), "{names:?} and {other_names:?}");
    assert_ne!(ids, other_ids);
    assert!(names.iter().chain(&other_names).all(|name| crate::lobby::is_lobby_name(name)), "{names:?}");
    assert!(ids.iter().chain(&other_ids).all(|id| (2..=i64::from(i32::MAX)).contains(id)));
}

#[test]
fn a_seeded_test_server_repeats_its_names_and_ids() {
    let seeded = || Signaling::new(limits()).with_seed(SEED);
    let (names, ids) = names_and_ids(seeded());
    assert_eq!((names.clone(), ids.clone()), names_and_ids(seeded()));
    assert_eq!((names[0].as_str(), ids[0]), ("ZQDEVNT6", 1_009_375_127), "the test generator is splitmix64");
}
