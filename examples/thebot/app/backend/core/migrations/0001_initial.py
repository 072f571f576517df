from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="TaskRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=16)),
                ("token", models.CharField(blank=True, db_index=True, max_length=64)),
                ("version", models.CharField(max_length=32)),
                ("worker", models.CharField(max_length=128)),
                ("created", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
