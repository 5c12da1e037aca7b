//! Loading from disk: confinement to the project before any byte is read, and the bounds.

use std::path::Path;

use super::*;

const SECRET: &str = "root:SECRET-TOKEN-1234:0:0";

/// A directory holding `project/` and, next to it, `secret.txt` (a file outside the project).
fn setup(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(tmp.path().join("secret.txt"), format!("{SECRET}\n")).unwrap();
    for (path, text) in files {
        let p = project.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    (tmp, project)
}

fn load_err(project: &Path) -> String {
    let e = RequirementsFile::load(project, "requirements.txt").unwrap_err();
    let text = e.to_string();
    assert!(!text.contains("SECRET-TOKEN"), "an error echoed a file outside the project: {text}");
    assert_eq!(e.exit_code(), crate::diagnostics::exit::PROJECT);
    text
}

#[test]
fn includes_leaving_the_project_are_refused_before_reading() {
    let (tmp, project) = setup(&[]);
    let secret = tmp.path().join("secret.txt");
    let cases = [
        (format!("numpy\n-r {}\n", secret.display()), "requirements.txt:2: `", "is outside the project: it is an absolute path"),
        ("-r ../secret.txt\n".to_string(), "requirements.txt:1: `../secret.txt`", "it leaves the project with `..`"),
        ("-c sub/../../secret.txt\n".to_string(), "requirements.txt:1: `sub/../../secret.txt`", "it leaves the project with `..`"),
        ("--requirement=/etc/shadow\n".to_string(), "requirements.txt:1: `/etc/shadow`", "it is an absolute path"),
    ];
    for (text, starts, contains) in cases {
        std::fs::write(project.join("requirements.txt"), &text).unwrap();
        let msg = load_err(&project);
        assert!(msg.starts_with(starts), "{text:?}: {msg}");
        assert!(msg.contains(contains), "{text:?}: {msg}");
    }
}

#[test]
fn a_symlink_out_of_the_project_is_refused_with_the_including_line() {
    let (tmp, project) = setup(&[("requirements.txt", "flask\n-r deps/base.txt\n")]);
    std::fs::create_dir_all(project.join("deps")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.txt"), project.join("deps/base.txt")).unwrap();
    let msg = load_err(&project);
    assert!(
        msg.starts_with("requirements.txt:2: `deps/base.txt` is outside the project: it is a symlink to a file outside the project"),
        "{msg}"
    );
    // The top file itself as a symlink out.
    std::fs::remove_file(project.join("requirements.txt")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.txt"), project.join("requirements.txt")).unwrap();
    let msg = load_err(&project);
    assert!(msg.contains("symlink to a file outside the project"), "{msg}");
    // A symlink that stays inside is followed.
    std::fs::remove_file(project.join("requirements.txt")).unwrap();
    std::fs::write(project.join("real.txt"), "numpy\n").unwrap();
    std::os::unix::fs::symlink(project.join("real.txt"), project.join("requirements.txt")).unwrap();
    let f = RequirementsFile::load(&project, "requirements.txt").unwrap();
    assert_eq!(f.requirements().len(), 1);
}

#[test]
fn only_regular_files_are_opened() {
    let (_tmp, project) = setup(&[("requirements.txt", "-r pipe.txt\n")]);
    let fifo = std::ffi::CString::new(project.join("pipe.txt").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    // Opening a FIFO for reading would block forever; it is refused first.
    let msg = load_err(&project);
    assert_eq!(msg, "cannot read pipe.txt (included from requirements.txt:1): it is not a regular file");
    std::fs::write(project.join("requirements.txt"), "-r deps\n").unwrap();
    std::fs::create_dir_all(project.join("deps")).unwrap();
    assert!(load_err(&project).contains("not a regular file"));
}

#[test]
fn reads_are_bounded_in_bytes_lines_and_depth() {
    // 20 MB in one file: refused from its size, before it is read.
    let (_tmp, project) = setup(&[]);
    let big = "numpy==1.0\n".repeat(20 << 20 >> 4);
    std::fs::write(project.join("requirements.txt"), &big).unwrap();
    let msg = load_err(&project);
    assert!(msg.starts_with("requirements.txt: it is "), "{msg}");
    assert!(msg.contains("read up to 2097152 bytes (2 MiB) in all"), "{msg}");
    assert!(msg.contains("help: "), "{msg}");

    // More lines than allowed, in small files.
    std::fs::write(project.join("requirements.txt"), "a\n".repeat(MAX_LINES + 1)).unwrap();
    let msg = load_err(&project);
    assert!(msg.contains("more than 10000 requirement and option lines"), "{msg}");
    std::fs::write(project.join("requirements.txt"), "a\n".repeat(MAX_LINES)).unwrap();
    RequirementsFile::load(&project, "requirements.txt").unwrap();

    // A diamond of includes (each file includes the next ten times) stops at the line limit
    // instead of reading 10^5 files.
    for i in 0..5 {
        std::fs::write(project.join(format!("d{i}.txt")), format!("-r d{}.txt\n", i + 1).repeat(10)).unwrap();
    }
    std::fs::write(project.join("d5.txt"), "numpy\n").unwrap();
    std::fs::write(project.join("requirements.txt"), "-r d0.txt\n").unwrap();
    let msg = load_err(&project);
    assert!(msg.contains("more than 10000 requirement and option lines"), "{msg}");

    // Includes nested deeper than the limit.
    for i in 0..=MAX_INCLUDE_DEPTH {
        std::fs::write(project.join(format!("n{i}.txt")), format!("-r n{}.txt\n", i + 1)).unwrap();
    }
    std::fs::write(project.join(format!("n{}.txt", MAX_INCLUDE_DEPTH + 1)), "numpy\n").unwrap();
    std::fs::write(project.join("requirements.txt"), "-r n1.txt\n").unwrap();
    let msg = load_err(&project);
    assert!(msg.contains("would nest includes more than 16 deep"), "{msg}");
    std::fs::write(project.join("requirements.txt"), "-r n2.txt\n").unwrap();
    RequirementsFile::load(&project, "requirements.txt").unwrap();
}

#[test]
fn local_paths_in_lines_must_stay_in_the_project() {
    let refused = [
        ("../wheels/x-1.0-py3-none-any.whl", "leaves the project"),
        ("/opt/wheels/x-1.0-py3-none-any.whl", "absolute path"),
        ("~/x-1.0-py3-none-any.whl", "home directory"),
        ("-e ../pkg", "leaves the project"),
        ("--find-links /wheels", "absolute path"),
        ("-f ./a/../../wheels", "leaves the project"),
        ("x @ file:../x-1.0.tar.gz", "leaves the project"),
    ];
    for (line, why) in refused {
        let f = RequirementsFile::parse("requirements.txt", &format!("numpy\n{line}\n")).unwrap();
        let msg = f.check_local_paths().unwrap_err().to_string();
        assert!(msg.starts_with("requirements.txt:2: `"), "{line}: {msg}");
        assert!(msg.contains(why), "{line}: {msg}");
    }
    let fine = "./dist/x-1.0-py3-none-any.whl\n-e .\n--find-links ./wheels\nx @ file:///wheels/x.whl\nhttps://example.com/x-1.0-py3-none-any.whl\n-e git+https://github.com/o/r.git#egg=r\n";
    RequirementsFile::parse("requirements.txt", fine).unwrap().check_local_paths().unwrap();
    // The same check runs when loading from disk.
    let (_tmp, project) = setup(&[("requirements.txt", "-r sub/more.txt\n"), ("sub/more.txt", "-e ../../pkg\n")]);
    let msg = load_err(&project);
    assert!(msg.starts_with("sub/more.txt:1: `../../pkg` is outside the project"), "{msg}");
}
