//! Packages a synthetic 25 fps stream (a keyframe every second) into LL-HLS parts and
//! segments and prints the playlist a player would get, then a delta update and what a
//! blocking reload for the next part is answered with.
//!
//! `cargo run -p weir-hls --example ll_playlist`

use std::fmt;
use std::time::Duration;

use weir_hls::{
    Cut, DateTime, DeliveryDirectives, LiveConfig, LivePlaylist, PartInfo, ScheduleConfig,
    Scheduler, UriNames,
};
use weir_media::{Timebase, Timestamp};

struct Names;

impl UriNames for Names {
    fn map(&self, w: &mut dyn fmt::Write, v: u32) -> fmt::Result {
        write!(w, "init{v}.mp4")
    }
    fn segment(&self, w: &mut dyn fmt::Write, msn: u64) -> fmt::Result {
        write!(w, "seg{msn}.m4s")
    }
    fn part(&self, w: &mut dyn fmt::Write, n: u64) -> fmt::Result {
        write!(w, "part{n}.m4s")
    }
}

fn main() {
    let mut scheduler = Scheduler::new(ScheduleConfig::new(
        Duration::from_millis(200),
        Duration::from_secs(1),
    ));
    let start = DateTime::from_unix_millis(1_800_000_000_000);
    let mut live: Option<LivePlaylist<()>> = None;
    let mut part_start = 0i64;
    for i in 0..500i64 {
        let ms = i * 40;
        let cut = scheduler.frame(Timestamp::new(ms, Timebase::MILLIS), i % 25 == 0);
        if cut == Cut::None {
            continue;
        }
        let Some(part_target) = scheduler.part_target() else {
            continue;
        };
        let td = scheduler.target_duration();
        let live =
            live.get_or_insert_with(|| LivePlaylist::new(LiveConfig::new(td, part_target, 8)));
        let duration = Duration::from_millis((ms - part_start) as u64);
        let info = PartInfo::new(duration, part_start % 1000 == 0)
            .with_program_date_time(start.plus(Duration::from_millis(part_start as u64)));
        live.push_part(info, ());
        if cut != Cut::Part {
            live.close_segment();
        }
        part_start = ms;
    }
    let Some(live) = live else { return };
    let mut text = String::new();
    live.render(&mut text, &Names, false);
    println!("{text}");
    text.clear();
    live.render(&mut text, &Names, true);
    println!("--- delta update (_HLS_skip=YES) ---\n{text}");
    if let Some(last) = live.last_part() {
        let q = format!("_HLS_msn={}&_HLS_part={}", last.msn, last.index + 1);
        let d = DeliveryDirectives::parse(&q).expect("valid directives");
        println!("--- {q}: {:?}", live.readiness(&d));
    }
}
