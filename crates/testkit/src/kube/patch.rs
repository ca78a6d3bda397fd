//! The two patch formats besides apply: JSON merge patch (RFC 7386; strategic merge patches
//! are taken as these) and JSON patch (RFC 6902, which kube-rs's finalizer helper sends).

use serde_json::{Map, Value};

/// RFC 7386: maps merge key by key, `null` removes a key, anything else replaces.
pub(super) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else { return };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// RFC 6902: applies the operations in order, all or none; the error says which one failed.
pub(super) fn json_patch(target: &Value, operations: &Value) -> Result<Value, String> {
    let operations = operations.as_array().ok_or("a JSON patch is a list of operations")?;
    let mut patched = target.clone();
    for (i, operation) in operations.iter().enumerate() {
        apply(&mut patched, operation).map_err(|e| format!("operation {i} of the JSON patch: {e}"))?;
    }
    Ok(patched)
}

fn apply(target: &mut Value, operation: &Value) -> Result<(), String> {
    let text = |field: &str| operation[field].as_str().ok_or(format!("`{field}` is required"));
    let path = text("path")?;
    let value = || operation.get("value").cloned().ok_or("`value` is required".to_string());
    match text("op")? {
        "add" => add(target, path, value()?),
        "remove" => remove(target, path).map(drop),
        "replace" => {
            remove(target, path)?;
            add(target, path, value()?)
        }
        "move" => {
            let moved = remove(target, text("from")?)?;
            add(target, path, moved)
        }
        "copy" => {
            let copied = target.pointer(text("from")?).cloned().ok_or("`from` does not exist")?;
            add(target, path, copied)
        }
        "test" if target.pointer(path) == Some(&value()?) => Ok(()),
        "test" => Err(format!("the value at {path} is not the one tested")),
        other => Err(format!("unknown op {other:?}")),
    }
}

/// The parent container of `path` and the last segment, unescaped.
fn parent<'v>(target: &'v mut Value, path: &str) -> Result<(&'v mut Value, String), String> {
    let (parent, last) = path.rsplit_once('/').ok_or(format!("{path:?} is not a JSON pointer"))?;
    let last = last.replace("~1", "/").replace("~0", "~");
    target.pointer_mut(parent).map(|p| (p, last)).ok_or(format!("{parent:?} does not exist"))
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    match parent(target, path)? {
        (Value::Object(map), key) => {
            map.insert(key, value);
            Ok(())
        }
        (Value::Array(list), index) if index == "-" => {
            list.push(value);
            Ok(())
        }
        (Value::Array(list), index) => match index.parse::<usize>() {
            Ok(i) if i <= list.len() => {
                list.insert(i, value);
                Ok(())
            }
            _ => Err(format!("{path:?} is past the end of its list")),
        },
        _ => Err(format!("{path:?} is inside a scalar")),
    }
}

fn remove(target: &mut Value, path: &str) -> Result<Value, String> {
    let missing = || format!("{path:?} does not exist");
    match parent(target, path)? {
        (Value::Object(map), key) => map.remove(&key).ok_or_else(missing),
        (Value::Array(list), index) => match index.parse::<usize>() {
            Ok(i) if i < list.len() => Ok(list.remove(i)),
            _ => Err(missing()),
        },
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::json_patch;

    #[test]
    fn json_patch_operations() {
        let object = json!({ "metadata": { "finalizers": ["a", "b"], "labels": { "x/y": "1" } } });
        let patch = json!([
            { "op": "test", "path": "/metadata/finalizers/0", "value": "a" },
            { "op": "remove", "path": "/metadata/finalizers/0" },
            { "op": "add", "path": "/metadata/finalizers/-", "value": "c" },
            { "op": "replace", "path": "/metadata/labels/x~1y", "value": "2" },
            { "op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations" },
            { "op": "move", "from": "/metadata/annotations/x~1y", "path": "/spec" }
        ]);
        let patched = json_patch(&object, &patch).expect("a valid patch");
        assert_eq!(
            patched,
            json!({ "metadata": { "finalizers": ["b", "c"], "labels": { "x/y": "2" }, "annotations": {} }, "spec": "2" })
        );
        let failing = json!([{ "op": "test", "path": "/metadata/finalizers/0", "value": "z" }]);
        assert!(json_patch(&object, &failing).is_err());
        assert!(json_patch(&object, &json!([{ "op": "remove", "path": "/nothing/here" }])).is_err());
        assert!(json_patch(&object, &json!({ "op": "add" })).is_err());
    }
}
