//! What users act on: capacity searches and comparisons between runs, with the statistics they
//! rest on (redrawn runs, the normal and Student's t distributions, the scalability law).

pub mod capacity;
pub mod compare;
pub mod overhead;
pub mod resample;
pub mod stats;
pub mod usl;
pub mod verdict;
