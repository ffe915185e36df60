//! Lobby names and peer ids come from the seeded generator.

use super::*;

/// Three lobbies and two guests in the first: every lobby name and guest peer id handed out.
fn names_and_ids(seed: u64) -> (Vec<String>, Vec<i64>) {
    let mut test = Harness::new();
    test.server = Signaling::new(limits(), seed);
    let names: Vec<_> = (0..3).map(|_| test.host(true).1).collect();
    let ids = (0..2).map(|_| test.join(true, &names[0]).1).collect();
    (names, ids)
}

#[test]
fn the_same_seed_gives_the_same_lobby_names_and_peer_ids() {
    let (names, ids) = names_and_ids(SEED);
    assert_eq!((names.clone(), ids.clone()), names_and_ids(SEED));
    assert_eq!((names[0].as_str(), ids[0]), ("ZQDEVNT6", 1_009_375_127), "the generator is splitmix64, seeded");
    let (other_names, other_ids) = names_and_ids(SEED + 1);
    assert!(names.iter().all(|name| !other_names.contains(name)), "another seed, other names");
    assert_ne!(ids, other_ids);
    assert!(ids.iter().chain(&other_ids).all(|id| (2..=i64::from(i32::MAX)).contains(id)));
}
