

def test_result_paths_from_the_task_yaml_win_over_the_directory(tmp_path):
    from interlock_steps.runtime import Redactor, Results

    elsewhere = tmp_path / "tekton" / "results"
    results = Results(tmp_path / "default", redactor=Redactor(),
                      environ={"RESULT_PATH_QUERIES_RUN": str(elsewhere / "queries-run"), "RESULT_PATH_EMPTY": ""})
    results.write(**{"queries-run": "3", "summary": "{}"})
    assert (elsewhere / "queries-run").read_text() == "3"
    assert (tmp_path / "default" / "summary").read_text() == "{}"
    assert not (tmp_path / "default" / "queries-run").exists()
