//! The wasmtime engine every connector runs in: component model, async host
//! calls, the pooling instance allocator sized to the sandbox limits, and
//! epoch interruption driven by a ticker thread.

use std::time::Duration;

use anyhow::{Context, bail};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are measured in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each linear memory reset in place (copied back from the image or
/// zeroed), not with madvise, on reuse: enough for a small connector's whole
/// initial memory (the Cognito connector starts with 640 KiB). Where the
/// kernel has `PAGEMAP_SCAN` and no swap, only the pages the last call wrote count
/// towards it; elsewhere the whole window is zeroed on every invocation.
const KEEP_RESIDENT: usize = 640 * 1024;

/// Core module instances one component may create; interpreters built as
/// components (Python, JavaScript) use a handful.
const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 32;
/// Tables one component may create.
const MAX_TABLES_PER_COMPONENT: u32 = 32;

/// Limits every invocation runs under.
#[derive(Debug, Clone)]
pub struct SandboxLimits {
    /// Largest linear memory a connector may grow to.
    pub memory_bytes: u64,
    /// Wall-clock deadline of one invocation, host calls included.
    pub timeout: Duration,
    /// Largest input (JSON text) an invocation takes.
    pub max_input_bytes: usize,
    /// Largest output (JSON text) an invocation may return.
    pub max_output_bytes: usize,
    /// Connector stdout and stderr kept for the log per invocation.
    pub max_log_bytes: usize,
    /// Invocations that can run at once (the instance pool's size).
    pub max_concurrent_invocations: u32,
    /// Largest component file the host reads.
    pub max_component_bytes: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            memory_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(60),
            max_input_bytes: 16 * 1024 * 1024,
            max_output_bytes: 16 * 1024 * 1024,
            max_log_bytes: 64 * 1024,
            max_concurrent_invocations: 1000,
            max_component_bytes: 128 * 1024 * 1024,
        }
    }
}

impl SandboxLimits {
    /// Largest linear memory a 32-bit WebAssembly guest can address.
    pub const MAX_MEMORY_BYTES: u64 = 4 << 30;

    /// Checks that every limit is usable: above zero, and memory within
    /// what a 32-bit guest can address.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.memory_bytes < 1 << 20 || self.memory_bytes > Self::MAX_MEMORY_BYTES {
            bail!("the memory limit must be between 1 MiB and 4096 MiB, not {} bytes", self.memory_bytes);
        }
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(24 * 3600) {
            bail!("the invocation deadline must be above 0 and at most 24 hours");
        }
        if self.max_output_bytes == 0
            || self.max_input_bytes == 0
            || self.max_concurrent_invocations == 0
            || self.max_component_bytes == 0
        {
            bail!("the output, instance pool and component size limits must be above 0");
        }
        Ok(())
    }
}

/// Builds the engine for `limits` and starts its epoch ticker, which stops
/// when the engine is dropped.
pub fn new_engine(limits: &SandboxLimits) -> anyhow::Result<Engine> {
    limits.check()?;
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Each instance gets a slot reserved up front; sizing the reservation to
    // the memory cap (instead of the 4 GiB default) keeps a pool of a
    // thousand slots to a few hundred GiB of address space, not terabytes.
    // The reservation shapes the compiled code, so it is rounded up to a
    // power of two (at least 64 MiB): caps in one bucket share compiled
    // artifacts instead of compiling every component again per cap.
    config.memory_reservation(reservation_for(limits.memory_bytes));
    config.memory_reservation_for_growth(0);
    let slots = limits.max_concurrent_invocations;
    let mut pool = PoolingAllocationConfig::default();
    // Four core instances and tables a slot on average, and always enough
    // for one component of the largest accepted size (interpreters built
    // as components have a dozen or more), however small the pool.
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(4).max(MAX_CORE_INSTANCES_PER_COMPONENT))
        .total_memories(slots)
        .total_tables(slots.saturating_mul(4).max(MAX_TABLES_PER_COMPONENT))
        .total_stacks(slots)
        .max_memories_per_component(1)
        // One invocation may not take a large share of the pool's core
        // instances or tables (a component instantiating a tiny module a
        // thousand times would leave every other call `busy`); a component
        // over these bounds is refused when it is compiled.
        .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
        .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
        .max_memory_size(limits.memory_bytes as usize)
        // Reusing a slot resets what the last invocation touched. Zeroing
        // the first pages with memset instead of madvise avoids a page fault
        // per touched page on the next call and, on many cores, the TLB
        // shootdowns each madvise costs; a connector's working set is
        // usually this small.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        // Resets only the pages an invocation wrote (Linux 6.7 and later,
        // else the whole window): a call that touches 100 KiB of a 640 KiB
        // window no longer pays for zeroing all of it, which cut an
        // instantiation and drop from 29 to 7 µs (BENCHMARKS.md). Not with
        // swap: see `page_scan`.
        .pagemap_scan(page_scan())
        .table_keep_resident(64 * 1024)
        .async_stack_keep_resident(64 * 1024)
        // Decommit what remains when a slot is freed, not in batches: a
        // batched slot comes back only when an allocation fails and flushes
        // the batch, and two allocations at once could both fail while one
        // of them flushed (a call refused `busy` beside free slots).
        .decommit_batch_size(1);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).map_err(anyhow::Error::from).context("could not create the wasmtime engine")?;
    start_epoch_ticker(&engine)?;
    Ok(engine)
}

/// Whether to reset memory by scanning for written pages. The scan finds
/// only pages present in memory: a written page the kernel had swapped out
/// would be neither reset nor released, and the next invocation in that
/// slot would read what the last one left. So where swap is on, or this
/// cannot tell, every reset zeroes the whole resident window instead.
/// Swap turned on after the host started is not seen: restart the host.
fn page_scan() -> wasmtime::Enabled {
    match std::fs::read_to_string("/proc/swaps") {
        Ok(swaps) if !lists_swap(&swaps) => wasmtime::Enabled::Auto,
        _ => {
            tracing::info!("swap is on (or /proc/swaps unreadable): every memory reset zeroes the whole window");
            wasmtime::Enabled::No
        }
    }
}

/// Whether `/proc/swaps` text lists a swap area below its header.
fn lists_swap(swaps: &str) -> bool {
    swaps.lines().skip(1).any(|line| !line.trim().is_empty())
}

/// The address space reserved per linear memory for a cap of
/// `memory_bytes`.
fn reservation_for(memory_bytes: u64) -> u64 {
    memory_bytes.max(64 << 20).next_power_of_two().min(SandboxLimits::MAX_MEMORY_BYTES)
}

fn start_epoch_ticker(engine: &Engine) -> anyhow::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("wasm-epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .context("could not start the epoch ticker thread")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::lists_swap;

    #[test]
    fn swap_is_seen_only_when_an_area_is_listed() {
        let header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
        assert!(!lists_swap(header));
        assert!(!lists_swap(""));
        assert!(lists_swap(&format!("{header}/dev/zram0 partition\t8388604\t0\t100\n")));
    }
}
