"""The ML side of mlops-vm: data loading, training, promotion, inference, monitoring.

Free of Airflow and Flask imports: DAGs and the model server are thin adapters over it.
"""
