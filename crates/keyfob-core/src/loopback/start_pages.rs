//! The start addresses still listening (`start`), by link id, so that a link's end closes
//! its port: the facade holds one, and completing or cancelling a link closes its address.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::task::AbortHandle;

/// The start addresses still listening, by link id, so that a link's end closes its port.
#[derive(Debug, Default)]
pub(crate) struct StartPages(Mutex<HashMap<String, AbortHandle>>);

impl StartPages {
    /// Keeps `task`, which serves the start address of `link_id`, to abort when it ends.
    pub(super) fn insert(&self, link_id: &str, task: AbortHandle) {
        let mut pages = self.0.lock().expect("start pages poisoned");
        pages.retain(|_, task| !task.is_finished());
        pages.insert(link_id.to_string(), task);
    }

    /// Closes the start address of `link_id`, if it still listens.
    pub(crate) fn close(&self, link_id: &str) {
        let task = self.0.lock().expect("start pages poisoned").remove(link_id);
        if let Some(task) = task {
            task.abort();
        }
    }
}
