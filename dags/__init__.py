"""Airflow DAGs of mlops-vm; importable as a package so DAG files share dags.common."""
