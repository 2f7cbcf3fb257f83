# scan-as: execution/api/serializers.py
from rest_framework import serializers

from registry.models import PluginState


class PluginSerializer(serializers.ModelSerializer):
    def update(self, instance, validated_data):
        instance.state = PluginState.UNAVAILABLE  # expect: EXE007
        return instance
