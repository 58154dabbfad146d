from django.urls import path
from rest_framework import generics, pagination, serializers

from orgs.models import Organization


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "description", "added_at", "updated_at"]


class Pages(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class OrganizationList(generics.ListAPIView):
    queryset = Organization.objects.order_by("name")
    serializer_class = OrganizationSerializer
    pagination_class = Pages


urlpatterns = [path("api/iam/organizations/", OrganizationList.as_view())]
